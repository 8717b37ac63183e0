/**
 * The built site in a real browser (playwright-core driving Debian's Chromium, headless): every notebook page loads
 * without console errors, its charts render as Plotly plots and no math is left as raw TeX; the drills quiz shows its seeded shuffle, refuses empty
 * answers, highlights the choice, fails a stated misconception, keeps progress across reloads and resets; both live demos
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
import { loadDrills, presentQuestion, seededRandom, type DrillQuestion, type McqQuestion, type ShortQuestion } from '../../exercises/drills/drills.mjs';

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

const drill: DrillQuestion[] = loadDrills().flatMap((s) => s.questions);
/** How many drills a section has (the quiz's "N in this set"). */
const inSection = (n: number) => drill.filter((q) => q.id.startsWith(`${n}.`)).length;
const QUIZ_KEY = 'loralab-drills-v1';
const QUIZ_SEED = 424242;

/**
 * The drills page showing one section, the quiz's options shuffled by QUIZ_SEED (stored before the first load only,
 * so reloads keep progress).
 */
async function openQuiz(section: string): Promise<{ page: Page; errors: string[] }> {
  const opened = await open('/drills', (page) => page.addInitScript(([key, seed]) => {
    if (!localStorage.getItem(key as string)) localStorage.setItem(key as string, JSON.stringify({ seed, section: 'all', answers: {} }));
  }, [QUIZ_KEY, QUIZ_SEED] as const));
  await opened.page.selectOption('.quiz-bar select', section);
  return opened;
}
const optionTexts = (page: Page, id: string) => page.locator(`[data-question="${id}"] .quiz-options button`).allTextContents();
/** The option button of question `id` that is the correct one (or the first wrong one), found by its text. */
function option(page: Page, id: string, correct: boolean) {
  const q = drill.find((x) => x.id === id) as McqQuestion;
  return page.locator(`[data-question="${id}"] .quiz-options button`, { hasText: q.options.find((o) => o.correct === correct)!.text });
}

const freePort = () => new Promise<number>((resolve) => { const s = createServer(); s.listen(0, () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); }); });

/** A fresh page (its own storage) at `path`; `prepare` runs before the first load (to add init scripts, say). */
async function open(path: string, prepare?: (page: Page) => Promise<unknown>): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  if (prepare) await prepare(page);
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
    // no math left as raw TeX: no block of prose (outside code, KaTeX and charts) holds a $…$ pair or a lone $\command
    const rawMath = await page.evaluate(() => {
      const article = (document.querySelector('article') ?? document.body).cloneNode(true) as HTMLElement;
      for (const el of Array.from(article.querySelectorAll('code, pre, .katex, .plotly-chart, script, style, svg'))) el.remove();
      const found: string[] = [];
      for (const el of Array.from(article.querySelectorAll('p, li, td, th, h1, h2, h3, h4, h5, h6, blockquote, figcaption'))) {
        const text = Array.from(el.childNodes).filter((n) => n.nodeType === Node.TEXT_NODE || !['P', 'LI', 'UL', 'OL', 'TABLE'].includes((n as Element).tagName)).map((n) => n.textContent ?? '').join('');
        if (/\$[^$]+\$|\$\s*\\[A-Za-z]/.test(text)) found.push(text.trim().slice(0, 160));
      }
      return found;
    });
    expect(rawMath, `${slug}: unrendered math`).toEqual([]);
    if (slug.startsWith('06')) await page.screenshot({ path: join(artifacts, 'notebook-06-qlora.png'), fullPage: false });
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('the drills quiz shows the options in its seeded shuffle, refuses empty and unreadable answers, and highlights the chosen option', async () => {
    const { page, errors } = await openQuiz('6');
    // every option list is the shared shuffle for this seed (grade.mjs), and some differ from the files' order
    const mcqs = drill.filter((q): q is McqQuestion => q.type === 'mcq' && q.id.startsWith('6.'));
    let reordered = 0;
    for (const q of mcqs) {
      const shown = presentQuestion(q, seededRandom(`${QUIZ_SEED}:${q.id}`));
      expect(await optionTexts(page, q.id), q.id).toEqual(shown.options.map((o, i) => `${String.fromCharCode(65 + i)}. ${o.text}`));
      if (shown.order.some((o, i) => o !== i)) reordered++;
    }
    expect(reordered).toBeGreaterThan(0);
    await option(page, '6.2', true).click();
    await option(page, '6.1', false).click();
    // a numeric answer: Check is disabled while empty, an unreadable one is refused and not counted, units are read back
    const num = page.locator('[data-question="6.3"]');
    await expect(num.locator('button[type="submit"]').isDisabled()).resolves.toBe(true);
    await num.locator('input').fill('four and a half');
    await num.locator('button[type="submit"]').click();
    await expect(num.getByRole('alert').textContent()).resolves.toMatch(/is not a number/);
    await expect(page.getByTestId('quiz-score').textContent()).resolves.toMatch(/score: 1\/2 answered/);
    await num.locator('input').fill('4.5 bits');
    await expect(num.getByTestId('quiz-reading').textContent()).resolves.toMatch(/read as 4\.5 bits/);
    await num.locator('button[type="submit"]').click();
    await expect(page.getByTestId('quiz-score').textContent()).resolves.toMatch(new RegExp(`score: 2/3 answered, ${inSection(6)} in this set`));
    await expect(num.locator('.quiz-feedback').textContent()).resolves.toMatch(/^✓ Correct \(read as 4\.5 bits\)/);
    await expect(page.locator('[data-question="6.1"] .quiz-feedback').textContent()).resolves.toMatch(/^✗ Not quite/);
    // the chosen option is marked, the right one shown green and a wrong choice red
    await expect(option(page, '6.2', true).getAttribute('class')).resolves.toBe('quiz-chosen');
    await expect(option(page, '6.2', true).getAttribute('aria-pressed')).resolves.toBe('true');
    await expect(page.locator('[data-question="6.2"] li.is-correct button.quiz-chosen').count()).resolves.toBe(1);
    await expect(page.locator('[data-question="6.1"] li.is-wrong button.quiz-chosen').count()).resolves.toBe(1);
    await expect(page.locator('[data-question="6.1"] li.is-correct button:not(.quiz-chosen)').count()).resolves.toBe(1);
    const [chosenBg, otherBg] = await page.evaluate(() => ['[data-question="6.1"] li.is-wrong button', '[data-question="6.1"] li:not(.is-wrong):not(.is-correct) button']
      .map((sel) => getComputedStyle(document.querySelector(sel)!).backgroundColor));
    expect(chosenBg).not.toBe(otherBg);
    await page.locator('[data-question="6.1"] .quiz-options').scrollIntoViewIfNeeded();
    await page.mouse.wheel(0, -200);
    await page.screenshot({ path: join(artifacts, 'drills-quiz-answered.png') });
    // the sticky score bar is opaque: nothing scrolling under it shows through
    await page.mouse.wheel(0, 1500);
    const bar = await page.evaluate(() => getComputedStyle(document.querySelector('.quiz-bar')!).backgroundColor);
    expect(bar, `.quiz-bar background ${bar}`).toMatch(/^rgb\(/);
    await page.screenshot({ path: join(artifacts, 'drills-quiz.png') });
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('the drills quiz keeps answers and score across reloads and sections, and Reset starts afresh with a new shuffle', async () => {
    const { page, errors } = await openQuiz('6');
    await option(page, '6.2', true).click();
    await page.locator('[data-question="6.3"] input').fill('5');
    await page.locator('[data-question="6.3"] button[type="submit"]').click();
    await expect(page.getByTestId('quiz-score').textContent()).resolves.toMatch(new RegExp(`score: 1/2 answered, ${inSection(6)} in this set`));
    await page.reload({ waitUntil: 'load' });
    await expect(page.getByTestId('quiz-score').textContent()).resolves.toMatch(new RegExp(`score: 1/2 answered, ${inSection(6)} in this set`));
    await expect(page.locator('.quiz-bar select').inputValue()).resolves.toBe('6');
    await expect(option(page, '6.2', true).getAttribute('class')).resolves.toBe('quiz-chosen');
    await expect(page.locator('[data-question="6.3"] input').inputValue()).resolves.toBe('5');
    await expect(page.locator('[data-question="6.3"] input').isDisabled()).resolves.toBe(true);
    await page.selectOption('.quiz-bar select', '8');
    await expect(page.getByTestId('quiz-score').textContent()).resolves.toMatch(new RegExp(`score: 0/0 answered, ${inSection(8)} in this set`));
    await page.selectOption('.quiz-bar select', 'all');
    await expect(page.getByTestId('quiz-score').textContent()).resolves.toMatch(new RegExp(`score: 1/2 answered, ${drill.length} in this set`));
    await page.getByTestId('quiz-reset').click();
    await expect(page.getByTestId('quiz-score').textContent()).resolves.toMatch(/score: 0\/0 answered/);
    const stored = JSON.parse((await page.evaluate((k) => localStorage.getItem(k), QUIZ_KEY))!) as { seed: number; answers: object };
    expect(stored.answers).toEqual({});
    expect(stored.seed).not.toBe(QUIZ_SEED);
    await expect(option(page, '6.2', true).isDisabled()).resolves.toBe(false);
    // the options now follow the new seed's shuffle
    const q = drill.find((x) => x.id === '6.1') as McqQuestion;
    expect(await optionTexts(page, '6.1')).toEqual(presentQuestion(q, seededRandom(`${stored.seed}:6.1`)).options.map((o, i) => `${String.fromCharCode(65 + i)}. ${o.text}`));
    await page.reload({ waitUntil: 'load' });
    await expect(page.getByTestId('quiz-score').textContent()).resolves.toMatch(/score: 0\/0 answered/);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('the drills quiz fails a short answer that states a misconception, and otherwise lets the learner tick the key points', async () => {
    const { page, errors } = await openQuiz('8');
    const wrong = page.locator('[data-question="8.8"]');
    await expect(wrong.locator('button[type="submit"]').isDisabled()).resolves.toBe(true);
    await wrong.locator('textarea').fill('Full fine-tuning: it fits, QLoRA loses too much accuracy.');
    await wrong.locator('button[type="submit"]').click();
    await expect(wrong.locator('.quiz-feedback').textContent()).resolves.toMatch(/^✗ Not quite: your answer says "Full fine-tuning: it fits/);
    await expect(wrong.locator('.quiz-self-assess').count()).resolves.toBe(0);
    const q = drill.find((x) => x.id === '8.4') as ShortQuestion;
    const card = page.locator('[data-question="8.4"]');
    await card.locator('textarea').fill('It costs memory and parameters, risks overfitting, and past the intrinsic rank there is no gain.');
    await card.locator('button[type="submit"]').click();
    await expect(card.locator('.quiz-self-assess').textContent()).resolves.toContain(q.modelAnswer);
    const boxes = card.locator('.quiz-points input[type="checkbox"]');
    await expect(boxes.count()).resolves.toBe(q.rubric.length);
    await expect(page.getByTestId('quiz-score').textContent()).resolves.toMatch(/score: 0\/1 answered/); // not scored until marked
    for (const i of [0, 1, 2]) await boxes.nth(i).check();
    await card.locator('.quiz-score-answer').click();
    await expect(card.locator('.quiz-feedback').textContent()).resolves.toMatch(/^✓ Good: you covered 3 of 4; missing: scaling/);
    await expect(page.getByTestId('quiz-score').textContent()).resolves.toMatch(/score: 1\/2 answered/);
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
