/**
 * LoRA Lab in a browser tab, for the WebGPU tests and bench: page.ts is bundled with the library's sources by esbuild
 * (Node's built-in modules, which only the file-reading parts of the library use, become stubs that throw), served
 * with the model folders by a small HTTP server on 127.0.0.1, and opened in Debian's Chromium with WebGPU unlocked
 * (headless and without a GPU it then gives SwiftShader's Vulkan adapter, which runs WGSL on the CPU).
 */
import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const ROOT = join(import.meta.dirname, '../..');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const WEBGPU_ARGS = ['--enable-unsafe-webgpu', '--no-sandbox', '--disable-dev-shm-usage'];
/** The model folders the page can fetch, under /models/<name>/. */
export const MODELS: Record<string, string> = {
  'gemma-tiny': join(ROOT, 'test/fixtures/gemma-tiny'),
  'gemma-micro': join(ROOT, 'datasets/models/gemma-micro'),
};

/** page.ts and the library as one browser script. */
export async function bundlePage(): Promise<string> {
  const esbuild = await import('esbuild');
  const nodeStub = `module.exports = new Proxy({}, { get(_, key) {
    if (key === '__esModule') return false;
    return () => { throw new Error('a Node built-in module was called in the browser (' + String(key) + ')'); };
  } });`;
  const out = await esbuild.build({
    entryPoints: [join(import.meta.dirname, 'page.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'silent',
    plugins: [{
      name: 'node-builtins',
      setup(b) {
        b.onResolve({ filter: /^(node:|fs$|path$|os$|module$|url$|crypto$|child_process$|worker_threads$)/ }, (a) => ({ path: a.path, namespace: 'node-stub' }));
        b.onLoad({ filter: /.*/, namespace: 'node-stub' }, () => ({ contents: nodeStub, loader: 'js' }));
      },
    }],
  });
  return out.outputFiles[0].text;
}

const TYPES: Record<string, string> = { '.json': 'application/json', '.js': 'text/javascript', '.html': 'text/html', '.safetensors': 'application/octet-stream' };

/** Serve the page at / and the model folders; resolves with the base URL. */
export async function serve(script: string): Promise<{ base: string; server: Server }> {
  const html = '<!doctype html><meta charset="utf-8"><title>loading</title><script type="module" src="/page.js"></script>';
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const send = (status: number, body: string | Buffer, type = 'text/plain') => { res.writeHead(status, { 'content-type': type }); res.end(body); };
    if (url.pathname === '/') return send(200, html, TYPES['.html']);
    if (url.pathname === '/page.js') return send(200, script, TYPES['.js']);
    if (url.pathname === '/favicon.ico') return send(204, '');
    const m = /^\/models\/([\w-]+)\/([\w.-]+)$/.exec(url.pathname);
    const dir = m ? MODELS[m[1]] : undefined;
    const file = dir ? normalize(join(dir, m![2])) : '';
    if (!dir || !file.startsWith(dir) || !existsSync(file) || !statSync(file).isFile()) return send(404, 'not found');
    const ext = file.slice(file.lastIndexOf('.'));
    return send(200, readFileSync(file), TYPES[ext] ?? 'application/octet-stream');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { base: `http://127.0.0.1:${port}`, server };
}

export interface Harness {
  page: Page;
  browser: Browser;
  errors: string[];
  close(): Promise<void>;
}

/** Bundle, serve, launch Chromium and open the page; `page.evaluate` then calls window.loralabWebgpu. */
export async function openHarness(): Promise<Harness> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (Debian: apt-get install chromium), or set CHROMIUM_PATH`);
  const script = await bundlePage();
  const { base, server } = await serve(script);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: WEBGPU_ARGS });
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(base);
  await page.waitForFunction(() => document.title === 'ready', undefined, { timeout: 60_000 });
  return { page, browser, errors, close: async () => { await browser.close(); server.close(); } };
}
