#!/usr/bin/env node
// Precompresses the built site: next to every compressible file of build/ (HTML, JS, CSS, JSON, SVG, text, the
// notebooks) go FILE.br (brotli, quality 11) and FILE.gz (gzip -9), written only when smaller than the file; the
// server (scripts/serve.mjs) sends them with Content-Encoding to browsers that accept them. Compressing once at build
// time lets the server use the slowest, smallest settings and spend no CPU per request.
//   node scripts/compress.mjs [dir]     (default: build/)
import { readdirSync, readFileSync, statSync, writeFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';

/** Extensions worth compressing (images other than SVG, fonts and wasm-free archives are compressed already). */
export const COMPRESSIBLE = /\.(html|js|mjs|css|json|svg|txt|xml|map|ipynb|ts|md|wasm|f32)$/;
/** Files smaller than this are sent as they are: the headers would outweigh the saving. */
const MIN_BYTES = 512;

function* files(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* files(p);
    else if (e.isFile()) yield p;
  }
}

/** Write `data` to `path` through a temporary file, so a reader never sees half a file. */
function writeAtomic(path, data) {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Compress every compressible file under `dir`; returns the byte totals. */
export function compressTree(dir) {
  const total = { files: 0, bytes: 0, br: 0, gz: 0 };
  for (const p of files(dir)) {
    if (!COMPRESSIBLE.test(p)) continue;
    const raw = readFileSync(p);
    if (raw.length < MIN_BYTES) continue;
    const br = brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: raw.length } });
    const gz = gzipSync(raw, { level: 9 });
    total.files++;
    total.bytes += raw.length;
    if (br.length < raw.length) { writeAtomic(`${p}.br`, br); total.br += br.length; } else { rmSync(`${p}.br`, { force: true }); total.br += raw.length; }
    if (gz.length < raw.length) { writeAtomic(`${p}.gz`, gz); total.gz += gz.length; } else { rmSync(`${p}.gz`, { force: true }); total.gz += raw.length; }
  }
  return total;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2] ?? join(new URL('..', import.meta.url).pathname, 'build');
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    console.error(`compress: ${dir} is not a directory: build the site first (npm run build)`);
    process.exit(1);
  }
  const t0 = Date.now();
  const t = compressTree(dir);
  const mb = (b) => (b / 1e6).toFixed(1);
  console.log(`compress: ${t.files} files, ${mb(t.bytes)} MB → ${mb(t.br)} MB brotli, ${mb(t.gz)} MB gzip (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}
