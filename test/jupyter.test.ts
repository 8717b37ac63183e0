/**
 * `npm run lab` (scripts/jupyter.mjs lab) against a fake `jupyter` on the PATH: which front end it picks, what it passes,
 * what it says when Jupyter is missing and when Jupyter itself fails.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const SCRIPT = join(ROOT, 'scripts', 'jupyter.mjs');
const asRoot = process.getuid?.() === 0;
// This file's runs write their kernel spec here, never into the .jupyter/ that the notebook tests execute with.
const OWN_JUPYTER_PATH = mkdtempSync(join(tmpdir(), 'loralab-jupyter-path-'));

// Only shell builtins, so the PATH can hold nothing but this folder.
const FAKE = `#!/bin/sh
case "$*" in
  "--version") echo "jupyter_core: 5.7.2"; exit 0;;
  "lab --version") if [ -n "$FAKE_NO_LAB" ]; then echo "Jupyter command jupyter-lab not found." >&2; exit 1; fi; echo 4.2.5; exit 0;;
  "notebook --version") if [ -n "$FAKE_NO_NOTEBOOK" ]; then exit 1; fi; echo 6.4.12; exit 0;;
esac
printf '%s\\n' "$@" > "$FAKE_LOG"
echo "cwd=$(pwd)" >> "$FAKE_LOG"
echo "JUPYTER_PATH=$JUPYTER_PATH" >> "$FAKE_LOG"
echo "[I 10:00:00.000 ServerApp] Serving notebooks from local directory" >&2
if [ -n "$FAKE_FAIL" ]; then
  echo "[C 10:00:00.001 ServerApp] Running as root is not recommended. Use --allow-root to bypass." >&2
  exit 1
fi
exit 0
`;

let bin: string;
let empty: string;
let log: string;

beforeAll(() => {
  bin = mkdtempSync(join(tmpdir(), 'loralab-fake-jupyter-'));
  empty = mkdtempSync(join(tmpdir(), 'loralab-no-jupyter-'));
  log = join(bin, 'args.log');
  writeFileSync(join(bin, 'jupyter'), FAKE);
  chmodSync(join(bin, 'jupyter'), 0o755);
});

function lab(path: string, env: Record<string, string> = {}, extra: string[] = []) {
  writeFileSync(log, '');
  const r = spawnSync(process.execPath, [SCRIPT, 'lab', ...extra], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, PATH: path, FAKE_LOG: log, LORALAB_JUPYTER_PATH: OWN_JUPYTER_PATH, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr, argv: readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) };
}

describe('npm run lab without Jupyter', () => {
  it('says in one line that Jupyter is missing and names the packages, without any help screen', () => {
    const r = lab(empty);
    expect(r.code).toBe(1);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/^loralab: error: Jupyter is not installed/);
    expect(r.err).toContain('apt-get install jupyter-notebook python3-nbclient');
    expect(r.err).toContain('pip install jupyterlab');
    expect(r.out).toBe('');
  });
  it('names the packages when jupyter exists but has neither JupyterLab nor the Notebook', () => {
    const r = lab(bin, { FAKE_NO_LAB: '1', FAKE_NO_NOTEBOOK: '1' });
    expect(r.code).toBe(1);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/neither JupyterLab nor the Notebook.*apt-get install jupyter-notebook python3-nbclient/);
    expect(r.argv).toEqual([]); // nothing was started
  });
});

describe('npm run lab with Jupyter', () => {
  it('starts JupyterLab on notebooks/ with the project kernel path, adding --allow-root only as root', () => {
    const r = lab(bin);
    expect(r.code, r.err).toBe(0);
    expect(r.argv).toEqual(['lab', ...(asRoot ? ['--allow-root'] : []), `cwd=${join(ROOT, 'notebooks')}`, `JUPYTER_PATH=${OWN_JUPYTER_PATH}`]);
    expect(r.err).toContain('Serving notebooks from local directory'); // Jupyter's own output reaches the terminal
  });
  it("uses the classic Notebook where JupyterLab is missing, passes the user's flags and never doubles --allow-root", () => {
    const r = lab(bin, { FAKE_NO_LAB: '1' }, ['--no-browser', '--allow-root']);
    expect(r.code, r.err).toBe(0);
    expect(r.argv.slice(0, 3)).toEqual(['notebook', '--no-browser', '--allow-root']);
    expect(r.argv.filter((a) => a === '--allow-root')).toHaveLength(1);
  });
  it("shows Jupyter's own error when Jupyter starts and fails, and no install advice", () => {
    const r = lab(bin, { FAKE_FAIL: '1' });
    expect(r.code).toBe(1);
    expect(r.err).toContain('[C 10:00:00.001 ServerApp] Running as root is not recommended. Use --allow-root to bypass.');
    const last = r.err.trim().split('\n').at(-1)!;
    expect(last).toMatch(/^loralab: error: 'jupyter lab.*' failed \(exit status 1\): \[C .*Use --allow-root to bypass\.$/);
    expect(r.err).not.toMatch(/apt-get|pip install|not installed/);
  });
});

describe('the kernel spec', () => {
  const spec = () => JSON.parse(readFileSync(join(OWN_JUPYTER_PATH, 'kernels/tslab/kernel.json'), 'utf8')) as { env: Record<string, string> };
  it('executes the committed notebooks with the native BLAS off (the same bits on every machine), npm run lab with it', () => {
    const lab = spawnSync(process.execPath, [SCRIPT, 'lab'], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:/usr/bin:/bin`, FAKE_LOG: log, LORALAB_JUPYTER_PATH: OWN_JUPYTER_PATH } });
    expect(lab.status, lab.stderr).toBe(0);
    expect(spec().env.LORALAB_NATIVE).toBeUndefined();
    const setup = spawnSync(process.execPath, [SCRIPT, 'setup'], { encoding: 'utf8', env: { ...process.env, LORALAB_JUPYTER_PATH: OWN_JUPYTER_PATH } });
    expect(setup.status, setup.stderr).toBe(0);
    expect(spec().env).toEqual({ LORALAB_PROGRESS: 'notebook', LORALAB_NATIVE: '0' });
  });
});
