#!/usr/bin/env node
// Builds LoRA Lab's optional native kernels (lib/native, N-API) with node-gyp; run by `npm install` (lib's install
// script) and by hand with `node lib/native/build.mjs`. It never fails: without a compiler, node-gyp or Node's headers
// it prints one line and exits 0, and LoRA Lab runs on plain wasm (its backend line says why).
//
// Node's headers are taken from the running Node's own prefix when they are there (Debian's nodejs, the nodejs.org
// tarballs, nvm), so the build needs no network; otherwise node-gyp fetches them as usual.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const say = (line) => console.error(`loralab native: ${line}`);

if (process.env.LORALAB_NATIVE === '0') {
  say('not built (LORALAB_NATIVE=0)');
  process.exit(0);
}
if (process.platform === 'win32') {
  say('not built (Windows: the addon finds its BLAS with dlopen, which Windows lacks) — LoRA Lab runs on plain wasm');
  process.exit(0);
}

/** node-gyp's entry script: the one npm runs scripts with, else npm's bundled copy, else an installed package. */
function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
    join(dirname(process.execPath), 'node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
  ];
  try {
    candidates.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed as a package: the bundled copies above are the usual case
  }
  return candidates.find((p) => p && existsSync(p));
}

/** --nodedir for a Node whose headers sit in its own prefix (PREFIX/include/node/node_api.h). */
function nodeDirArgs() {
  if (process.env.npm_config_nodedir) return [];
  const prefix = resolve(dirname(process.execPath), '..');
  return existsSync(join(prefix, 'include/node/node_api.h')) ? [`--nodedir=${prefix}`] : [];
}

const gyp = nodeGyp();
if (!gyp) {
  say('not built (node-gyp not found) — LoRA Lab runs on plain wasm');
  process.exit(0);
}
const started = Date.now();
const r = spawnSync(process.execPath, [gyp, 'rebuild', ...nodeDirArgs()], { cwd: here, encoding: 'utf8', timeout: 300_000, maxBuffer: 1 << 24 });
if (r.status === 0) {
  say(`built lib/native/build/Release/loralab_native.node in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.exit(0);
}
// keep the whole log for whoever wants it; say the first real error in one line
const log = `${r.stdout ?? ''}\n${r.stderr ?? ''}${r.error ? `\n${r.error.message}` : ''}`;
mkdirSync(join(here, 'build'), { recursive: true });
writeFileSync(join(here, 'build', 'build-error.log'), log);
const first = log.split('\n').find((l) => /error|not found|No such file|ERR!/i.test(l) && !/gyp ERR! (cwd|node -v|node-gyp -v|command|System|not ok)/.test(l));
say(`not built (${(first ?? r.error?.message ?? `node-gyp exited ${r.status ?? r.signal}`).trim().slice(0, 160)}; log: lib/native/build/build-error.log) — LoRA Lab runs on plain wasm`);
process.exit(0);
