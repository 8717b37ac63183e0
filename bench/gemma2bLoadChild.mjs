// Child process of the gemma2b-load benchmark: loads the folder with loadIn4bit and reports time and peak RSS
// (VmHWM, the kernel's high-water mark of resident memory) as JSON on stdout.
import { readFileSync } from 'node:fs';
import { loadGemma } from '../lib/dist/models/gemma/index.js';
import { Linear4bit } from '../lib/dist/layers/index.js';
import { initBackend } from '../lib/dist/backend/index.js';

const vmHWM = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
const dir = process.argv[2];
await initBackend({ log: false });
const baseline = vmHWM();
const t0 = performance.now();
const { model } = loadGemma(dir, { loadIn4bit: true, bnb4bitQuantType: 'nf4', bnb4bitUseDoubleQuant: true, bnb4bitComputeDtype: 'bfloat16', tokenizer: false });
const loadSeconds = (performance.now() - t0) / 1000;
const peakAfterLoad = vmHWM();
let quantizedBytes = 0;
let embeddingBytes = 0;
for (const [, m] of model.namedModules()) {
  if (m instanceof Linear4bit) quantizedBytes += m.storageBytes();
}
embeddingBytes = model.config.vocabSize * model.config.hiddenSize * 2;
const t1 = performance.now();
const logits = model.logits([2, 651, 1234, 573]);
const forwardSeconds = (performance.now() - t1) / 1000;
console.log(JSON.stringify({
  loadSeconds,
  forwardSeconds,
  forwardTokens: 4,
  logitsFinite: logits.every(Number.isFinite),
  baselineRssBytes: baseline,
  peakRssAfterLoadBytes: peakAfterLoad,
  peakRssAfterForwardBytes: vmHWM(),
  quantizedLinearBytes: quantizedBytes,
  embeddingBf16Bytes: embeddingBytes,
}));
