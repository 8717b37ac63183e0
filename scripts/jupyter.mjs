#!/usr/bin/env node
// The tslab kernel for LoRA Lab's notebooks, in a project-local JUPYTER_PATH (.jupyter/, not committed), so nothing is
// installed into the user's Jupyter.
//   node scripts/jupyter.mjs setup     write .jupyter/kernels/tslab/kernel.json and print the JUPYTER_PATH to use
//   node scripts/jupyter.mjs lab       setup, then start Jupyter on notebooks/ with that kernel (npm run lab)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
export const JUPYTER_PATH = join(root, '.jupyter');

export function setup() {
  const tslab = join(root, 'node_modules/tslab/bin/tslab');
  if (!existsSync(tslab)) throw new Error(`${tslab} is missing: run npm install first`);
  const dir = join(JUPYTER_PATH, 'kernels/tslab');
  mkdirSync(dir, { recursive: true });
  const spec = {
    argv: [process.execPath, tslab, 'kernel', '--config-path', '{connection_file}'],
    display_name: 'TypeScript (LoRA Lab, tslab)',
    language: 'typescript',
    env: { LORALAB_PROGRESS: 'notebook' },
  };
  writeFileSync(join(dir, 'kernel.json'), `${JSON.stringify(spec, null, 2)}\n`);
  return JUPYTER_PATH;
}

const cmd = process.argv[2];
if (cmd === 'setup') console.log(setup());
else if (cmd === 'lab') {
  setup();
  const env = { ...process.env, JUPYTER_PATH };
  const tryRun = (bin, args) => spawnSync(bin, args, { stdio: 'inherit', env, cwd: join(root, 'notebooks') });
  // JupyterLab where it is installed (interactive Plotly charts); otherwise Debian's classic Notebook (static charts)
  let r = tryRun('jupyter', ['lab', ...process.argv.slice(3)]);
  if (r.status !== 0) r = tryRun('jupyter', ['notebook', ...process.argv.slice(3)]);
  if (r.error || r.status !== 0) {
    console.error('loralab: cannot start Jupyter. Install it (Debian: apt-get install jupyter-notebook python3-nbclient) and run npm run lab again.');
    process.exit(1);
  }
} else if (cmd) {
  console.error(`unknown command '${cmd}' (expected setup or lab)`);
  process.exit(2);
}
