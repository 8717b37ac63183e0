// The QLoRA step on WebGPU, on whatever adapter exists: in Node through the optional `webgpu` package when it finds
// one, otherwise in Chromium (playwright-core; Debian's /usr/bin/chromium with --enable-unsafe-webgpu, which falls
// back to SwiftShader, a CPU emulation, on a machine without a GPU). Records the adapter's name, the step's tokens/s on
// gemma-micro (4-bit NF4 base, LoRA r=8 on q,k,v,o, after a warm-up step that compiles the pipelines), and the
// dequantize kernel's bandwidth (float32 bytes written per second) against a device buffer copy of the same size.
// The same harness as test/webgpu (its TypeScript is bundled by esbuild, which vite brings).
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const STEPS = Number(process.env.LORALAB_WEBGPU_STEPS ?? 3);

/** Bundle a TypeScript module of test/webgpu for Node next to itself (so its paths hold) and import it. */
async function importTs(name) {
  const esbuild = await import('esbuild');
  const out = join(ROOT, 'test/webgpu', `.${name}.bench.mjs`);
  await esbuild.build({ entryPoints: [join(ROOT, 'test/webgpu', `${name}.ts`)], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: out, logLevel: 'silent' });
  try {
    return await import(pathToFileURL(out).href);
  } finally {
    rmSync(out, { force: true });
  }
}

function spec() {
  const records = readFileSync(join(ROOT, 'datasets/sql/train.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).slice(0, 4);
  return {
    model: 'gemma-micro', records, maxLength: 64, batchSize: 4, steps: STEPS, seed: 0, lr: 2e-4, r: 8, loraAlpha: 16,
    targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'], initLoraWeights: true, dequantShape: [2048, 2048], repeats: 10,
  };
}

/** In Node, if the `webgpu` package is installed and finds an adapter; else null with the reason. */
async function inNode(s) {
  const { probeBackends } = await import('../lib/dist/backend/index.js');
  const probe = await probeBackends({});
  if (!probe.webgpuAdapter) return { why: probe.webgpuWhy ?? 'no adapter' };
  const harness = await importTs('harness');
  const api = await importTs('api');
  const { base, server } = await harness.serve('');
  api.modelBase.url = `${base}/models`;
  try {
    return { where: "Node, through the 'webgpu' package", report: await api.bench(s) };
  } finally {
    server.close();
  }
}

async function inChromium(s) {
  const harness = await importTs('harness');
  const h = await harness.openHarness();
  try {
    const probe = await h.page.evaluate(() => window.loralabWebgpu.probe());
    if (!probe.adapter) throw new Error(`Chromium (${harness.CHROMIUM}) gives no WebGPU adapter either: ${probe.why}`);
    const report = await h.page.evaluate((x) => window.loralabWebgpu.bench(x), s);
    const version = h.browser.version();
    return { where: `Chromium ${version} (${harness.WEBGPU_ARGS.join(' ')})`, report };
  } finally {
    await h.close();
  }
}

export async function run() {
  const s = spec();
  const node = await inNode(s);
  const { where, report } = node.report ? node : await inChromium(s);
  const timed = report.steps.slice(1); // the first step compiles every pipeline
  const tokens = timed.reduce((a, r) => a + r.tokens, 0);
  const seconds = timed.reduce((a, r) => a + r.seconds, 0);
  const dequantGBs = report.dequant.outputBytes / report.dequant.seconds / 1e9;
  // a copy reads and writes every byte; the dequantize kernel writes 4 bytes and reads ~0.57 per element
  const copyGBs = (2 * report.copy.bytes) / report.copy.seconds / 1e9;
  const dequantTrafficGBs = (report.dequant.outputBytes * (1 + 0.5 / 4 + 4 / 64 / 4)) / report.dequant.seconds / 1e9;
  return {
    command: 'npm run bench -- webgpu',
    ranIn: where,
    nodeWebgpu: node.report ? 'used' : `not used: ${node.why}`,
    adapter: report.adapter,
    step: {
      model: 'datasets/models/gemma-micro, NF4 + double quant, bf16 compute; LoRA r=8 on q,k,v,o; fused frozen-head loss; AdamW',
      batch: `${s.batchSize} sequences, ${report.steps[0].tokens / s.batchSize} tokens each (padded)`,
      stepSeconds: report.steps.map((r) => +r.seconds.toFixed(3)),
      losses: report.steps.map((r) => +r.loss.toFixed(5)),
      tokensPerSecond: +(tokens / seconds).toFixed(1),
    },
    dequantize: {
      shape: report.dequant.shape,
      secondsPerCall: report.dequant.seconds,
      outputGBs: +dequantGBs.toFixed(3),
      trafficGBs: +dequantTrafficGBs.toFixed(3),
      deviceCopyGBs: +copyGBs.toFixed(3),
      fractionOfCopy: +(dequantTrafficGBs / copyGBs).toFixed(3),
    },
    note: 'SwiftShader is a CPU emulation of a GPU: these figures say the step runs, not how fast a GPU runs it. The targets (dequantize >= 50 % of device copy bandwidth; a gemma-micro step faster than the native CPU path, bench/results/train-step.json) need a real adapter: run the same command on a machine with one.',
  };
}
