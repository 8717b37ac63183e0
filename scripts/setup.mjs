#!/usr/bin/env node
// What LoRA Lab needs from the system, besides its npm packages, checked (and on Debian installed) before a long job
// starts, so that a run never stops half-way for a missing program:
//   node scripts/setup.mjs test     the test suite's needs (npm test runs this first)
//   node scripts/setup.mjs bench    the benchmarks' PyTorch peer and BLAS
// As root with apt-get, what is missing is installed, saying what and why; otherwise it stops at once with the one
// command that installs the rest. LORALAB_SETUP=check only checks (and fails listing that command).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const PYTHON = '/usr/bin/python3'; // Debian's python, where python3-nbclient and python3-torch install
const pythonImports = (mods) => () => existsSync(PYTHON) && spawnSync(PYTHON, ['-c', `import ${mods}`], { stdio: 'ignore' }).status === 0;
const sharedLibrary = (name) => () => (spawnSync('ldconfig', ['-p'], { encoding: 'utf8' }).stdout ?? '').includes(name);

/** Each need: what it is for, how to check it, and the Debian packages that provide it. */
export const NEEDS = {
  jupyterClient: {
    why: 'executes the notebooks through the tslab kernel (test/notebooks)',
    present: pythonImports('nbclient, nbformat, jupyter_client'),
    debian: ['python3-nbclient', 'python3-nbformat', 'python3-jupyter-client'],
  },
  chromium: {
    why: 'drives the built site in a headless browser (test/site)',
    present: () => existsSync(process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'),
    debian: ['chromium'],
  },
  torch: {
    why: "runs the benchmarks' PyTorch reference (test/bench, npm run bench)",
    present: pythonImports('torch'),
    debian: ['python3-torch'],
  },
  compiler: {
    why: "builds LoRA Lab's native kernels (lib/native, node-gyp) at npm install",
    present: () => ['g++', 'make'].every((tool) => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0),
    debian: ['g++', 'make'],
  },
  openblas: {
    why: "the CBLAS that LoRA Lab's native matmul and PyTorch's fair float32 baseline use",
    present: sharedLibrary('libopenblas.so.0'),
    debian: ['libopenblas0-pthread'],
  },
};

export const JOBS = {
  test: ['jupyterClient', 'chromium', 'torch', 'compiler', 'openblas'],
  bench: ['torch', 'openblas'],
};

const say = (line) => console.error(`loralab setup: ${line}`);
const runningAsRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const aptPresent = existsSync('/usr/bin/apt-get') && existsSync('/usr/bin/dpkg');

function runApt(args) {
  const r = spawnSync('apt-get', args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return r.status === 0;
}

/**
 * Checks the job's needs; installs what is missing where it can. Returns the process exit code. `system` replaces the
 * real machine in tests: { needs, isRoot, hasApt, apt, mode }.
 */
export function setup(job, system = {}) {
  const { needs = NEEDS, isRoot = runningAsRoot, hasApt = aptPresent, apt = runApt, mode = process.env.LORALAB_SETUP } = system;
  const names = JOBS[job];
  if (!names) {
    say(`unknown job '${job}' (expected one of ${Object.keys(JOBS).join(', ')})`);
    return 2;
  }
  const missing = names.filter((n) => !needs[n].present());
  if (missing.length === 0) return 0;
  const packages = [...new Set(missing.flatMap((n) => needs[n].debian))];
  const command = `apt-get install -y --no-install-recommends ${packages.join(' ')}`;
  for (const n of missing) say(`missing ${needs[n].debian.join(' ')}: ${needs[n].why}`);
  if (!hasApt) {
    say(`this is not a Debian-like system: install the equivalents of ${packages.join(', ')} and run again`);
    return 1;
  }
  if (!isRoot || mode === 'check') {
    say(`install them with: sudo ${command}`);
    return 1;
  }
  say(`installing as root: ${command}`);
  if (!apt(['update', '-q']) || !apt(['install', '-y', '-q', '--no-install-recommends', ...packages])) {
    say(`apt-get failed; install them by hand: ${command}`);
    return 1;
  }
  const still = missing.filter((n) => !needs[n].present());
  if (still.length) {
    say(`installed, but still missing: ${still.map((n) => `${needs[n].debian.join(' ')} (${needs[n].why})`).join('; ')}`);
    return 1;
  }
  say(`installed ${packages.join(' ')}`);
  // npm install ran before a compiler was here: build the native kernels now, as npm install would have
  if (missing.includes('compiler') && !system.needs) spawnSync(process.execPath, [new URL('../lib/native/build.mjs', import.meta.url).pathname], { stdio: 'inherit' });
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = setup(process.argv[2] ?? 'test');
