#!/usr/bin/env node
// Builds lib/ (the same `npm run build`) only when its build is missing or older than its sources, so that
// `npm run grade`, `npm run lab` and `npm run notebooks` start at once on an up-to-date checkout.
// Stale means: some lib/src/**/*.ts has no compiled .js in lib/dist, or a source or a build setting (tsconfig,
// package.json) is newer than the oldest compiled file (tsc rewrites every output on a build).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const src = join(root, 'lib/src');
const dist = join(root, 'lib/dist');
const SETTINGS = ['lib/tsconfig.json', 'tsconfig.base.json', 'lib/package.json'].map((p) => join(root, p));

function* tsFiles(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* tsFiles(p);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) yield p;
  }
}

/** Why the build must be redone, or null when it is current. */
export function staleReason() {
  let newestInput = { path: '', mtime: 0 };
  let oldestOutput = Infinity;
  for (const f of tsFiles(src)) {
    const out = join(dist, relative(src, f)).replace(/\.ts$/, '.js');
    if (!existsSync(out)) return `${relative(root, out)} is missing`;
    const m = statSync(f).mtimeMs;
    if (m > newestInput.mtime) newestInput = { path: f, mtime: m };
    oldestOutput = Math.min(oldestOutput, statSync(out).mtimeMs);
  }
  for (const f of SETTINGS) {
    const m = statSync(f).mtimeMs;
    if (m > newestInput.mtime) newestInput = { path: f, mtime: m };
  }
  return newestInput.mtime > oldestOutput ? `${relative(root, newestInput.path)} is newer than the build` : null;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const why = staleReason();
  if (why) {
    console.error(`loralab: building lib/ (${why})`);
    const r = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
    process.exitCode = r.status ?? 1;
  }
}
