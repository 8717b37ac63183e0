/**
 * The built site in a real browser (playwright-core driving Debian's Chromium, headless): every notebook page loads
 * without console errors and its charts render as Plotly plots; the quiz can be answered and scored; both live demos
 * run and redraw when a control changes; the NF4 playground's WebGPU dequantize kernel matches the CPU kernel bit for
 * bit (skipped when Chromium finds no WebGPU adapter); the offline search index has the notebooks' headings.
 * Screenshots of the landing page, a notebook page and a demo are saved in test-artifacts/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';

const root = join(import.meta.dirname, '../..');
const build = join(root, 'site/build');
const artifacts = join(root, 'test-artifacts');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/**
 * Chromium exposes navigator.gpu, but headless on a machine without a GPU it finds no adapter ("No available adapters")
 * unless WebGPU is unlocked: with --enable-unsafe-webgpu it falls back to SwiftShader's Vulkan, a software adapter
 * (vendor 'google', architecture 'swiftshader', isFallbackAdapter) that runs WGSL compute shaders on the CPU.
 */
const WEBGPU_ARGS = ['--enable-unsafe-webgpu'];
const notebooks = readdirSync(join(root, 'notebooks')).filter((f) => /^\d\d-.*\.ipynb$/.test(f)).map((f) => f.replace(/\.ipynb$/, ''));

let server: ChildProcess;
let browser: Browser;
let base = '';

const freePort = () => new Promise<number>((resolve) => { const s = createServer(); s.listen(0, () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); }); });

async function open(path: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('response', (r) => { if (r.status() >= 400) errors.push(`${r.status()} ${r.url()}`); });
  await page.goto(`${base}${path}`, { waitUntil: 'load' });
  return { page, errors };
}

beforeAll(async () => {
  expect(existsSync(join(build, 'index.html')), 'site/build is missing: npm test builds it (npm run build:site)').toBe(true);
  expect(existsSync(CHROMIUM), `${CHROMIUM} is missing (Debian: apt-get install chromium)`).toBe(true);
  mkdirSync(artifacts, { recursive: true });
  const port = await freePort();
  server = spawn(process.execPath, [join(root, 'node_modules/@docusaurus/core/bin/docusaurus.mjs'), 'serve', '--port', String(port), '--host', '127.0.0.1', '--no-open'], { cwd: join(root, 'site'), stdio: 'ignore' });
  base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(base)).ok) break; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage', ...WEBGPU_ARGS] });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  server?.kill();
});

describe('site', () => {
  it('the landing page says what LoRA Lab teaches and links to the eight sections', async () => {
    const { page, errors } = await open('/');
    await expect(page.locator('h1').first().textContent()).resolves.toBe('LoRA Lab');
    expect(await page.locator('.hero-grid a').count()).toBe(8);
    await page.screenshot({ path: join(artifacts, 'landing.png') });
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it.each(notebooks)('notebook page %s loads without console errors and its charts render with Plotly', async (slug) => {
    const { page, errors } = await open(`/notebooks/${slug}`);
    const charts = page.locator('.plotly-chart');
    const n = await charts.count();
    expect(n).toBeGreaterThan(0);
    await page.waitForFunction((k) => document.querySelectorAll('.plotly-chart .plotly-chart-live[data-state="ready"] .js-plotly-plot').length === k, n, { timeout: 30_000 });
    // every <Math> the generator emitted for this page is rendered by KaTeX (one .katex element each)
    const mathCount = (readFileSync(join(root, 'site/docs/notebooks', `${slug}.mdx`), 'utf8').match(/<Math /g) ?? []).length;
    expect(await page.locator('.katex').count(), `${slug}: KaTeX elements`).toBe(mathCount);
    if (slug.startsWith('06')) await page.screenshot({ path: join(artifacts, 'notebook-06-qlora.png'), fullPage: false });
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('the drills quiz can be answered and keeps the score', async () => {
    const { page, errors } = await open('/drills');
    await page.selectOption('.quiz-bar select', '6');
    await page.locator('[data-question="6.2"] .quiz-options button').first().click(); // correct: zero exactly representable
    await page.locator('[data-question="6.1"] .quiz-options button').nth(1).click(); // wrong
    await page.locator('[data-question="6.3"] input').fill('4.5');
    await page.locator('[data-question="6.3"] button[type="submit"]').click();
    await expect(page.getByTestId('quiz-score').textContent()).resolves.toMatch(/score: 2\/3 answered/);
    await expect(page.locator('[data-question="6.1"] .quiz-feedback').textContent()).resolves.toMatch(/^✗ Not quite/);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('the NF4 playground runs LoRA Lab in the browser and redraws when the blocksize changes', async () => {
    const { page, errors } = await open('/demos/nf4-playground');
    const demo = page.locator('[data-demo="nf4"]');
    await page.waitForFunction(() => Number(document.querySelector('[data-demo="nf4"]')?.getAttribute('data-draws')) >= 3, null, { timeout: 30_000 });
    const before = await page.getByTestId('nf4-readout').textContent();
    expect(before).toMatch(/bits per parameter: 4\.500 \(4\.12\d with double quantization\)/);
    await page.waitForFunction(() => document.querySelector('[data-demo="nf4"] [data-testid="tf-backend"]')?.textContent !== '…', null, { timeout: 30_000 });
    const [, mine, viaTf] = /RMS error \/ RMS weight: ([\d.]+) \(TF\.js on (?:webgl|webgpu|wasm|cpu): ([\d.]+)\)/.exec((await page.getByTestId('nf4-readout').textContent()) ?? '') ?? [];
    expect(Number(mine)).toBeGreaterThan(0);
    expect(Math.abs(Number(mine) - Number(viaTf))).toBeLessThan(1e-3);
    const draws = Number(await demo.getAttribute('data-draws'));
    await page.selectOption('select[aria-label="blocksize"]', '256');
    await page.waitForFunction((d) => Number(document.querySelector('[data-demo="nf4"]')?.getAttribute('data-draws')) > d, draws, { timeout: 30_000 });
    expect(await page.getByTestId('nf4-readout').textContent()).toMatch(/bits per parameter: 4\.125/);
    await page.screenshot({ path: join(artifacts, 'demo-nf4-playground.png') });
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it("the NF4 playground's WebGPU (WGSL) dequantize kernel gives the CPU kernel's values bit for bit", async (ctx) => {
    const { page, errors } = await open('/demos/nf4-playground');
    const line = page.getByTestId('nf4-gpu-kernel');
    const settled = (bs: string) => page.waitForFunction((b) => {
      const el = document.querySelector('[data-testid="nf4-gpu-kernel"]');
      const s = el?.getAttribute('data-status');
      return !!s && s !== 'pending' && (s !== 'match' && s !== 'mismatch' || el?.getAttribute('data-blocksize') === b);
    }, bs, { timeout: 30_000 });
    await settled('64');
    const status = await line.getAttribute('data-status');
    const text = (await line.textContent()) ?? '';
    if (status === 'unavailable') {
      await page.close();
      ctx.skip(`no WebGPU adapter in this Chromium: ${text}`);
    }
    expect(status, text).toBe('match');
    expect(text).toMatch(/^WebGPU \(WGSL\) kernel on .+: 16,384 values, identical to the CPU kernel \(as float32 and rounded to bf16\)$/);
    // the kernel runs again on the new weights when the blocksize changes
    await page.selectOption('select[aria-label="blocksize"]', '32');
    await settled('32');
    expect(await line.getAttribute('data-status'), (await line.textContent()) ?? '').toBe('match');
    // the GPU check borrowed the webgpu backend without taking it from the page's other TF.js code
    expect(await page.locator('[data-demo="nf4"] [data-testid="tf-backend"]').textContent()).not.toBe('webgpu');
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('the LoRA rank explorer names its TF.js backend and updates with the rank', async () => {
    const { page, errors } = await open('/demos/lora-rank-explorer');
    await page.waitForFunction(() => Number(document.querySelector('[data-demo="lora"]')?.getAttribute('data-draws')) >= 2, null, { timeout: 30_000 });
    await page.waitForFunction(() => document.querySelector('[data-demo="lora"] [data-testid="tf-backend"]')?.textContent !== '…', null, { timeout: 30_000 });
    expect(await page.locator('[data-demo="lora"] [data-testid="tf-backend"]').textContent()).toMatch(/^(webgl|webgpu|wasm|cpu)$/);
    const before = await page.getByTestId('lora-readout').textContent();
    expect(before).toMatch(/r\(d\+k\) = 1,280 vs dk = 6,144/);
    await page.locator('input[aria-label="rank"]').fill('32');
    await page.waitForFunction(() => /r\(d\+k\) = 5,120/.test(document.querySelector('[data-testid="lora-readout"]')?.textContent ?? ''), null, { timeout: 30_000 });
    const text = await page.getByTestId('lora-readout').textContent();
    const [, exact, measured] = /relative error ([\d.]+) \(measured with TF\.js: ([\d.]+)\)/.exec(text ?? '') ?? [];
    expect(Math.abs(Number(exact) - Number(measured))).toBeLessThan(2e-3); // Eckart–Young vs the rebuilt matrix
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('the offline search index holds the notebooks’ headings', () => {
    const idx = readdirSync(build).filter((f) => /^search-index.*\.json$/.test(f));
    expect(idx.length).toBeGreaterThan(0);
    const text = idx.map((f) => readFileSync(join(build, f), 'utf8')).join('');
    expect(text).toMatch(/Double quantization: 0\.5 → 0\.127 bits per parameter/);
    expect(text).toMatch(/The best rank-r approximation/);
  });
});
