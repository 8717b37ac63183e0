// The site's QLoRA demo (/demos/qlora-finetune) as a learner runs it: the built site served by site/scripts/serve.mjs,
// opened in Debian's Chromium (playwright-core), gemma-micro loaded and quantized in the tab, then a few training
// steps on each backend the browser offers, timed by the demo itself (each step's batch tokens, padding included,
// over its seconds; the first step, which compiles kernels, is left out of the mean):
//   wasm     Chromium as it starts on a machine without a GPU (no WebGPU adapter: the demo's fallback)
//   webgpu   Chromium with --enable-unsafe-webgpu and ?backend=webgpu: on a machine without a GPU that is SwiftShader,
//            a CPU emulation of a GPU (the demo's 'auto' does not pick it; it is forced here to measure it)
// Needs the built site (npm run build:site). Steps and batch per backend: LORALAB_DEMO_STEPS (default 8 for wasm; the
// webgpu run takes 3 steps of batch 2, because SwiftShader runs at a few tokens per second).
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { createSiteServer } from '../site/scripts/serve.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BUILD = join(ROOT, 'site/build');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CASES = [
  { backend: 'wasm', args: [], steps: Number(process.env.LORALAB_DEMO_STEPS ?? 8), batch: 8, timeoutMs: 600_000 },
  { backend: 'webgpu', args: ['--enable-unsafe-webgpu'], steps: 3, batch: 2, timeoutMs: 1_200_000 },
];

async function measure(base, c) {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage', ...c.args] });
  try {
    const page = await browser.newPage();
    await page.goto(`${base}/demos/qlora-finetune?backend=${c.backend}`, { waitUntil: 'load' });
    await page.getByLabel('steps').fill(String(c.steps));
    await page.getByLabel('batch size').fill(String(c.batch));
    const phase = (want, timeout) => page.waitForFunction((w) => w.includes(document.querySelector('[data-demo="qlora-finetune"]')?.getAttribute('data-phase') ?? ''), want, { timeout, polling: 500 });
    const t0 = Date.now();
    await page.getByTestId('qlora-load').click();
    await phase(['ready', 'error'], 180_000);
    const loadSeconds = (Date.now() - t0) / 1000;
    const error = await page.getByTestId('qlora-error').allTextContents();
    if (error.length) return { backend: c.backend, error: error.join(' ') };
    const line = await page.getByTestId('qlora-backend').textContent();
    await page.getByTestId('qlora-train').click();
    await phase(['done', 'stopped'], c.timeoutMs);
    const p = page.getByTestId('qlora-progress');
    const read = async (a) => JSON.parse((await p.getAttribute(a)) ?? '[]');
    const [losses, seconds, tokens] = [await read('data-losses'), await read('data-step-seconds'), await read('data-step-tokens')];
    const sum = (xs) => xs.reduce((a, b) => a + b, 0);
    return {
      backend: c.backend, line, loadSeconds: +loadSeconds.toFixed(1), batch: c.batch, steps: c.steps,
      stepSeconds: seconds, stepTokens: tokens, losses,
      tokensPerSecond: +(sum(tokens.slice(1)) / sum(seconds.slice(1))).toFixed(1),
    };
  } finally {
    await browser.close();
  }
}

export async function run() {
  if (!existsSync(join(BUILD, 'demos/qlora-finetune.html'))) throw new Error('site/build has no demos/qlora-finetune.html: build the site first (npm run build:site)');
  const server = createSiteServer(BUILD);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${server.address().port}`;
  try {
    const runs = [];
    // the machine's load while each case ran: the demo's tokens/s falls with it (other processes share the CPU)
    for (const c of CASES) {
      const start = loadavg().map((x) => +x.toFixed(2));
      runs.push({ ...(await measure(base, c)), loadAverage: { start, end: loadavg().map((x) => +x.toFixed(2)) } });
    }
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    const version = browser.version();
    await browser.close();
    return {
      command: 'npm run bench -- webgpu-demo',
      what: 'the site\'s QLoRA demo in Chromium: gemma-micro quantized to NF4 + double quant in the tab, bf16 compute, LoRA r=8 on all linear layers, AdamW, SQL train split; tokens/s as the demo shows it (batch tokens incl. padding / step seconds, first step left out)',
      chromium: version,
      runs,
      note: 'On a machine without a GPU the webgpu run is SwiftShader, a CPU emulation: it says the WebGPU path runs in the demo, not how fast a GPU runs it.',
    };
  } finally {
    server.close();
  }
}
