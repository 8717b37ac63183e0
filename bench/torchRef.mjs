// Runs one of the PyTorch reference scripts in bench/torch/ with Debian's python3 (python3-torch), and returns its JSON
// result, or { unavailable: why } where PyTorch is not installed — the LoRA Lab side of a benchmark still runs.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const PYTHON = process.env.LORALAB_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

export function torchAvailable() {
  const r = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? { ok: true, version: r.stdout.trim() } : { ok: false, why: `${PYTHON} cannot import torch (apt-get install python3-torch)` };
}

/** `env`: variables set (a value) or removed (null) for this run, on top of this process's environment. */
export function runTorch(script, args, { timeoutS = 900, env = {} } = {}) {
  const have = torchAvailable();
  if (!have.ok) return { unavailable: have.why };
  const path = new URL(`./torch/${script}`, import.meta.url).pathname;
  const childEnv = { ...process.env };
  for (const [k, v] of Object.entries(env)) {
    if (v === null) delete childEnv[k];
    else childEnv[k] = v;
  }
  const r = spawnSync(PYTHON, [path, ...args], { encoding: 'utf8', timeout: timeoutS * 1000, maxBuffer: 1 << 24, env: childEnv });
  if (r.status !== 0) throw new Error(`bench/torch/${script} failed (exit ${r.status ?? r.signal}): ${r.stderr.slice(-2000)}`);
  const line = r.stdout.trim().split('\n').at(-1);
  return { ...JSON.parse(line), python: PYTHON, stderr: r.stderr.trim() || undefined };
}
