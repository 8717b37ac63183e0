#!/usr/bin/env node
// Build each notebook from its source, execute it through the tslab kernel and save its outputs (npm run notebooks).
//   node scripts/run-notebooks.mjs [NN-slug ...]
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { buildNotebook, notebookNames } from './notebook-sources.mjs';

const root = new URL('..', import.meta.url).pathname;
const jupyterPath = execFileSync(process.execPath, [join(root, 'scripts/jupyter.mjs'), 'setup'], { encoding: 'utf8' }).trim();
const names = process.argv.slice(2).length ? process.argv.slice(2) : notebookNames();
let failed = 0;
for (const name of names) {
  const path = buildNotebook(name);
  process.stderr.write(`${name}: running… `);
  const r = spawnSync('/usr/bin/python3', [join(root, 'scripts/notebooks.py'), 'run', path, '--write'], { encoding: 'utf8', env: { ...process.env, JUPYTER_PATH: jupyterPath } });
  const line = r.stdout.trim().split('\n').at(-1);
  const res = line ? JSON.parse(line) : { errors: [r.stderr || r.error?.message] };
  if (res.errors.length) {
    failed++;
    process.stderr.write(`FAILED\n${res.errors.join('\n')}\n`);
  } else process.stderr.write(`${res.seconds} s\n`);
}
process.exit(failed ? 1 : 0);
