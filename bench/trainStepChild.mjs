// Child of the train-step benchmark: loads a model folder for LoRA (dense frozen base) or QLoRA (NF4 + double
// quantization + bf16 compute), runs warmup + timed training steps on random tokens, prints one JSON line.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../lib/dist/backend/index.js';
import { loadGemma } from '../lib/dist/models/gemma/index.js';
import { dequantizeKernelName } from '../lib/dist/quant/kernels/index.js';
import { Trainer, prepareMethod, QLORA_LOAD_OPTIONS } from '../lib/dist/train/index.js';
import { Rng } from '../lib/dist/util/rng.js';

const vmHWM = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
const o = JSON.parse(process.argv[2]);
const backend = await initBackend({ log: false });
const { model, config } = loadGemma(o.modelDir, { ...(o.method === 'qlora' ? QLORA_LOAD_OPTIONS : {}), tokenizer: false });
const afterLoad = vmHWM();
const prepared = prepareMethod(model, o.method, { r: o.r, loraAlpha: 2 * o.r, targetModules: o.targets });
model.model.gradientCheckpointing = o.checkpointing;
const rng = new Rng(3);
const examples = Array.from({ length: o.batch }, () => {
  const ids = Array.from({ length: o.seq }, (_, i) => (i === 0 ? 2 : 3 + Math.floor(rng.next() * (config.vocabSize - 3))));
  return { inputIds: ids, labels: ids };
});
const outDir = mkdtempSync(join(tmpdir(), 'loralab-step-'));
try {
  const trainer = new Trainer(model, prepared.trainable, examples, null, { steps: o.warmup + o.steps, lr: 1e-4, batchSize: o.batch, outDir }, 0);
  const recs = trainer.run();
  const stepSeconds = recs.map((r, i) => r.elapsedSeconds - (i ? recs[i - 1].elapsedSeconds : 0)).slice(o.warmup);
  const median = [...stepSeconds].sort((a, b) => a - b)[Math.floor(stepSeconds.length / 2)];
  console.log(JSON.stringify({
    backend: backend.name,
    dequantizeKernel: o.method === 'qlora' ? dequantizeKernelName() : null,
    stepSeconds,
    medianStepSeconds: median,
    tokensPerSecond: (o.batch * o.seq) / median,
    loss: recs.map((r) => r.loss),
    trainableParameters: [...prepared.trainable.params.values()].reduce((s, v) => s + v.size, 0),
    peakRssAfterLoadBytes: afterLoad,
    peakRssBytes: vmHWM(),
  }));
} finally {
  rmSync(outDir, { recursive: true, force: true });
}
