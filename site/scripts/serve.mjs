#!/usr/bin/env node
// Serves the built site (build/) over HTTP, as `npm start` and the browser tests use it:
//   - routes as Docusaurus writes them with trailingSlash: false (/notebooks/x → notebooks/x.html, / → index.html,
//     a folder → its index.html), build/404.html with status 404 for anything else;
//   - the precompressed FILE.br or FILE.gz (scripts/compress.mjs) with Content-Encoding when the request's
//     Accept-Encoding allows it (brotli first), Vary: Accept-Encoding always;
//   - Cache-Control: content-hashed files (assets/, vendor/) for a year, immutable; everything else revalidated with
//     an ETag (size and mtime), answered 304 when unchanged;
//   - notebooks as downloads (Content-Disposition: attachment), TypeScript sources as plain text.
// Only GET and HEAD; paths are resolved inside build/ (no '..' escapes).
//   node scripts/serve.mjs [--port N] [--host H] [--dir D]     (PORT from the environment, default 3000)
import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json; charset=utf-8', '.svg': 'image/svg+xml',
  '.png': 'image/png', '.jpg': 'image/jpeg', '.ico': 'image/x-icon', '.woff': 'font/woff', '.woff2': 'font/woff2',
  '.ttf': 'font/ttf', '.txt': 'text/plain; charset=utf-8', '.xml': 'application/xml', '.wasm': 'application/wasm',
  '.ipynb': 'application/x-ipynb+json', '.ts': 'text/plain; charset=utf-8', '.md': 'text/plain; charset=utf-8',
  '.map': 'application/json', '.f32': 'application/octet-stream',
};

/** Which precompressed variant to send for an Accept-Encoding header: 'br', 'gzip' or null (q=0 refuses one). */
export function pickEncoding(accept) {
  const q = {};
  for (const part of String(accept ?? '').split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    const qp = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    q[name] = qp ? Number(qp.slice(2)) : 1;
  }
  const ok = (e) => (q[e] ?? q['*'] ?? 0) > 0;
  return ok('br') ? 'br' : ok('gzip') ? 'gzip' : null;
}

const isFile = (p) => statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;

/** The file under `dir` a URL path names, or null. */
export function resolvePath(dir, urlPath) {
  let p;
  try { p = decodeURIComponent(urlPath.split('?')[0].split('#')[0]); } catch { return null; }
  if (p.includes('\0')) return null;
  const base = resolve(dir);
  const full = resolve(base, `.${normalize(`/${p}`)}`);
  if (full !== base && !full.startsWith(base + sep)) return null;
  for (const c of [full, `${full}.html`, join(full, 'index.html')]) if (isFile(c)) return c;
  return null;
}

/** Cache-Control for a file: hashed names (webpack's assets/, the vendor bundle) never change. */
const cacheControl = (rel) => (/^(assets|vendor)\//.test(rel) ? 'public, max-age=31536000, immutable' : 'no-cache');

export function createSiteServer(dir) {
  const root = resolve(dir);
  return createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    let file = resolvePath(root, url.pathname);
    let status = 200;
    if (!file) { file = join(root, '404.html'); status = 404; if (!isFile(file)) { res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n'); return; } }
    const rel = file.slice(root.length + 1).split(sep).join('/');
    const st = statSync(file);
    const enc = pickEncoding(req.headers['accept-encoding']);
    // one ETag per file and encoding: the compressed and plain bodies are different representations
    const etag = `"${st.size.toString(36)}-${Math.floor(st.mtimeMs).toString(36)}-${enc ?? 'identity'}"`;
    const headers = {
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      'Cache-Control': cacheControl(rel),
      ETag: etag,
      Vary: 'Accept-Encoding',
      'X-Content-Type-Options': 'nosniff',
    };
    if (extname(file) === '.ipynb') headers['Content-Disposition'] = `attachment; filename="${rel.split('/').pop()}"`;
    if (status === 200 && req.headers['if-none-match'] === etag) { res.writeHead(304, headers).end(); return; }
    let body = file;
    let size = st.size;
    for (const [e, ext] of [['br', '.br'], ['gzip', '.gz']]) {
      if (enc === e && isFile(file + ext)) { body = file + ext; size = statSync(body).size; headers['Content-Encoding'] = e; break; }
    }
    headers['Content-Length'] = String(size);
    res.writeHead(status, headers);
    if (req.method === 'HEAD') { res.end(); return; }
    createReadStream(body).on('error', () => res.destroy()).pipe(res);
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const opt = (name, dflt) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : dflt; };
  const dir = opt('dir', join(new URL('..', import.meta.url).pathname, 'build'));
  const port = Number(opt('port', process.env.PORT ?? 3000));
  const host = opt('host', '0.0.0.0');
  if (!Number.isInteger(port) || port < 0 || port > 65535) { console.error(`serve: --port ${opt('port', process.env.PORT)}: expected a port number from 0 to 65535`); process.exit(1); }
  if (!isFile(join(dir, 'index.html'))) { console.error(`serve: ${dir}/index.html is missing: build the site first (npm run build:site)`); process.exit(1); }
  const server = createSiteServer(dir);
  server.on('error', (e) => { console.error(`serve: cannot listen on ${host}:${port}: ${e.message}`); process.exit(1); });
  server.listen(port, host, () => console.log(`LoRA Lab site: http://${host === '0.0.0.0' ? 'localhost' : host}:${server.address().port}/ (serving ${dir}, precompressed)`));
}
