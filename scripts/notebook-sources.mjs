#!/usr/bin/env node
// Each notebook is written as a TypeScript file in notebooks/src/ (the "percent" format: `// %%` starts a code cell,
// `// %% [markdown]` a markdown cell whose lines start with `// `, `// %% nondeterministic` a code cell whose outputs
// vary between runs) and paired with notebooks/NN-slug.ipynb, which holds the outputs. Reviewing and diffing the
// source is easy; the test suite checks that the two agree.
//   node scripts/notebook-sources.mjs build [NN-slug ...]   write the .ipynb from the source (outputs kept for unchanged cells)
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
export const NOTEBOOKS = join(root, 'notebooks');
export const SOURCES = join(NOTEBOOKS, 'src');

/** Cells of a percent-format source. */
export function parsePercent(text) {
  const cells = [];
  let cur = null;
  for (const line of text.split('\n')) {
    const m = /^\/\/ %%(?: \[(markdown)\])?(?: (nondeterministic))?\s*$/.exec(line);
    if (m) {
      cur = { cell_type: m[1] ? 'markdown' : 'code', tags: m[2] ? [m[2]] : [], lines: [] };
      cells.push(cur);
    } else if (cur) cur.lines.push(cur.cell_type === 'markdown' ? line.replace(/^\/\/ ?/, '') : line);
  }
  return cells.map((c) => {
    while (c.lines.length && c.lines.at(-1).trim() === '') c.lines.pop();
    while (c.lines.length && c.lines[0].trim() === '') c.lines.shift();
    return { cell_type: c.cell_type, tags: c.tags, source: c.lines.join('\n') };
  });
}

const joinSource = (s) => (Array.isArray(s) ? s.join('') : s);

export function buildNotebook(name) {
  const cells = parsePercent(readFileSync(join(SOURCES, `${name}.ts`), 'utf8'));
  const path = join(NOTEBOOKS, `${name}.ipynb`);
  const old = existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : null;
  const oldOutputs = new Map((old?.cells ?? []).filter((c) => c.cell_type === 'code').map((c) => [joinSource(c.source), c.outputs]));
  const nb = {
    cells: cells.map((c, i) => {
      const id = `${name.slice(0, 2)}-${String(i).padStart(3, '0')}`;
      const metadata = c.tags.length ? { tags: c.tags } : {};
      if (c.cell_type === 'markdown') return { cell_type: 'markdown', id, metadata, source: c.source };
      return { cell_type: 'code', execution_count: null, id, metadata, outputs: oldOutputs.get(c.source) ?? [], source: c.source };
    }),
    metadata: {
      ...(old?.metadata ?? {}),
      kernelspec: { display_name: 'TypeScript (LoRA Lab, tslab)', language: 'typescript', name: 'tslab' },
      language_info: { name: 'typescript', file_extension: '.ts', mimetype: 'text/typescript' },
    },
    nbformat: 4,
    nbformat_minor: 5,
  };
  writeFileSync(path, `${JSON.stringify(nb, null, 1)}\n`);
  return path;
}

export const notebookNames = () => readdirSync(SOURCES).filter((f) => /^\d\d-.*\.ts$/.test(f)).map((f) => f.replace(/\.ts$/, '')).sort();

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const [cmd, ...names] = process.argv.slice(2);
  if (cmd !== 'build') {
    console.error('usage: node scripts/notebook-sources.mjs build [NN-slug ...]');
    process.exit(2);
  }
  for (const n of names.length ? names : notebookNames()) console.log(buildNotebook(n));
}
