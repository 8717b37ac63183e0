#!/usr/bin/env node
// The tslab kernel for LoRA Lab's notebooks, in a project-local JUPYTER_PATH (.jupyter/, not committed), so nothing is
// installed into the user's Jupyter.
//   node scripts/jupyter.mjs setup     write .jupyter/kernels/tslab/kernel.json and print the JUPYTER_PATH to use
//   node scripts/jupyter.mjs lab       setup, then start Jupyter on notebooks/ with that kernel (npm run lab)
// The kernel that executes the committed notebooks (`setup`: npm run notebooks and the tests) runs with the native
// BLAS off: its outputs are committed and compared, and TF.js's WebAssembly arithmetic gives the same bits on every
// machine, where a CPU-tuned BLAS sums in an order of its own. `lab` runs the native path when it is there.
// `lab` asks Jupyter which front end it has (`jupyter lab --version`, `jupyter notebook --version`: no help screens),
// starts JupyterLab if present, else the classic Notebook, adds --allow-root when run as root, and when Jupyter fails
// shows Jupyter's own error; the install advice is only for a Jupyter that is not there.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
// LORALAB_JUPYTER_PATH moves it (the tests of this script use their own, away from the kernel the notebook tests run).
export const JUPYTER_PATH = process.env.LORALAB_JUPYTER_PATH ?? join(root, '.jupyter');

const INSTALL = 'install it with apt-get install jupyter-notebook python3-nbclient (Debian, Ubuntu) or pip install jupyterlab, then run npm run lab again';

/** mode 'reproducible' (the committed outputs) or 'interactive' (npm run lab: as fast as the machine allows). */
export function setup(mode = 'reproducible') {
  const tslab = join(root, 'node_modules/tslab/bin/tslab');
  if (!existsSync(tslab)) throw new Error(`${tslab} is missing: run npm install first`);
  const dir = join(JUPYTER_PATH, 'kernels/tslab');
  mkdirSync(dir, { recursive: true });
  const spec = {
    argv: [process.execPath, tslab, 'kernel', '--config-path', '{connection_file}'],
    display_name: 'TypeScript (LoRA Lab, tslab)',
    language: 'typescript',
    env: { LORALAB_PROGRESS: 'notebook', ...(mode === 'reproducible' ? { LORALAB_NATIVE: '0' } : {}) },
  };
  writeFileSync(join(dir, 'kernel.json'), `${JSON.stringify(spec, null, 2)}\n`);
  return JUPYTER_PATH;
}

function fail(message) {
  console.error(`loralab: error: ${message}`);
  process.exit(1);
}

/** Does `jupyter <args>` run and exit 0? Its output is discarded. */
function works(args) {
  const r = spawnSync('jupyter', args, { stdio: 'ignore', timeout: 60_000 });
  return !r.error && r.status === 0;
}

/** 'lab' (JupyterLab, interactive Plotly charts) or 'notebook' (Debian's classic Notebook, static charts). */
function frontEnd() {
  if (!works(['--version'])) fail(`Jupyter is not installed (no working 'jupyter' command on the PATH); ${INSTALL}`);
  if (works(['lab', '--version'])) return 'lab';
  if (works(['notebook', '--version'])) return 'notebook';
  fail(`Jupyter is installed but has neither JupyterLab nor the Notebook ('jupyter lab --version' and 'jupyter notebook --version' fail); ${INSTALL}`);
}

/** Start Jupyter; its output goes to the terminal as it comes, and the end of its stderr is kept to name the failure. */
function start(app, extra) {
  const args = [app, ...extra];
  // Jupyter refuses to run as root without this flag ("Running as root is not recommended. Use --allow-root to bypass.").
  if (process.getuid?.() === 0 && !args.includes('--allow-root')) args.push('--allow-root');
  const child = spawn('jupyter', args, { stdio: ['inherit', 'inherit', 'pipe'], env: { ...process.env, JUPYTER_PATH }, cwd: join(root, 'notebooks') });
  let tail = '';
  child.stderr.on('data', (chunk) => {
    process.stderr.write(chunk);
    tail = (tail + chunk.toString()).slice(-8192);
  });
  // Ctrl-C is Jupyter's to handle (it asks whether to shut down); this process waits for it.
  const ignore = () => {};
  process.on('SIGINT', ignore);
  child.on('error', (e) => fail(`cannot start 'jupyter ${args.join(' ')}': ${e.message}`));
  child.on('close', (code, signal) => {
    process.off('SIGINT', ignore);
    if (code === 0 || signal === 'SIGINT' || signal === 'SIGTERM') process.exit(0);
    const last = tail.split('\n').map((l) => l.trim()).filter(Boolean).at(-1);
    fail(`'jupyter ${args.join(' ')}' failed (${signal ? `signal ${signal}` : `exit status ${code}`})${last ? `: ${last}` : ''}`);
  });
}

const cmd = process.argv[2];
if (cmd === 'setup') console.log(setup());
else if (cmd === 'lab') {
  setup('interactive');
  start(frontEnd(), process.argv.slice(3));
} else if (cmd) {
  console.error(`loralab: error: unknown command '${cmd}' (expected setup or lab)`);
  process.exit(2);
}
