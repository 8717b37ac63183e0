/**
 * What the browser tests of the built site share: the site's own server (site/scripts/serve.mjs, precompressed
 * files as `npm start` serves them) on a free port, headless Chromium (Debian's, driven by playwright-core), and a
 * page-load measurement from the DevTools protocol.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const root = join(import.meta.dirname, '../..');
export const build = join(root, 'site/build');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const freePort = () => new Promise<number>((resolve) => { const s = createServer(); s.listen(0, () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); }); });

export interface Site { base: string; server: ChildProcess; browser: Browser; close(): Promise<void> }

/** Start site/scripts/serve.mjs on build/ and wait until it answers; then launch Chromium. */
export async function startSite(args: string[] = []): Promise<Site> {
  if (!existsSync(join(build, 'index.html'))) throw new Error('site/build is missing: npm test builds it (npm run build:site)');
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (Debian: apt-get install chromium)`);
  const port = await freePort();
  const server = spawn(process.execPath, [join(root, 'site/scripts/serve.mjs'), '--port', String(port), '--host', '127.0.0.1'], { stdio: 'ignore' });
  const base = `http://127.0.0.1:${port}`;
  let up = false;
  for (let i = 0; i < 100 && !up; i++) {
    try { up = (await fetch(base)).ok; } catch { await new Promise((r) => setTimeout(r, 100)); }
  }
  if (!up) { server.kill(); throw new Error(`site/scripts/serve.mjs did not answer on ${base}`); }
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage', ...args] });
  return { base, server, browser, close: async () => { await browser.close(); server.kill(); } };
}

export interface Load { bytes: number; requests: number; byType: Record<string, number>; loadMs: number; idleMs: number; largest: { url: string; bytes: number }[] }

/**
 * Open `url` in `page` with a cold cache and measure what crossed the network: bytes as transferred (CDP's
 * encodedDataLength at loadingFinished: compressed body plus headers), per resource type, the time to the load event,
 * and the time until the network has been idle for `quietMs` (no request in flight), taken at the idle period's start.
 */
export async function measureLoad(page: Page, url: string, quietMs = 500, timeoutMs = 30_000): Promise<Load> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  const types = new Map<string, string>();
  const urls = new Map<string, string>();
  const inflight = new Set<string>();
  const sizes = new Map<string, number>();
  let lastActivity = 0;
  const t0 = Date.now();
  cdp.on('Network.requestWillBeSent', (e) => { inflight.add(e.requestId); urls.set(e.requestId, e.request.url); lastActivity = Date.now(); });
  cdp.on('Network.responseReceived', (e) => { types.set(e.requestId, e.type); });
  cdp.on('Network.loadingFinished', (e) => { inflight.delete(e.requestId); sizes.set(e.requestId, e.encodedDataLength); lastActivity = Date.now(); });
  cdp.on('Network.loadingFailed', (e) => { inflight.delete(e.requestId); lastActivity = Date.now(); });
  await page.goto(url, { waitUntil: 'load', timeout: timeoutMs });
  const loadMs = Date.now() - t0;
  while (inflight.size > 0 || Date.now() - lastActivity < quietMs) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`${url}: the network was not idle within ${timeoutMs} ms (${inflight.size} requests in flight)`);
    await new Promise((r) => setTimeout(r, 25));
  }
  const idleMs = lastActivity - t0;
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: false });
  await cdp.detach();
  const byType: Record<string, number> = {};
  let bytes = 0;
  for (const [id, b] of sizes) { bytes += b; const t = types.get(id) ?? 'Other'; byType[t] = (byType[t] ?? 0) + b; }
  const largest = [...sizes].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([id, b]) => ({ url: new URL(urls.get(id) ?? '').pathname, bytes: b }));
  return { bytes, requests: sizes.size, byType, loadMs, idleMs, largest };
}
