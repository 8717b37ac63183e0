// Child of the gemma2b-step benchmark: one QLoRA training step (r = 8 on q,k,v,o, sequence 128, batch 1) on the
// Gemma-2B-shaped folder; prints time and peak resident memory as JSON.
import { readFileSync } from 'node:fs';
import { initBackend } from '../lib/dist/backend/index.js';
import { loadGemma } from '../lib/dist/models/gemma/index.js';
import { Trainer, prepareMethod, QLORA_LOAD_OPTIONS } from '../lib/dist/train/index.js';
import { Rng } from '../lib/dist/util/rng.js';

const vmHWM = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
const [dir, outDir, seqArg, stepsArg, ckptArg] = process.argv.slice(2);
const checkpointing = ckptArg !== 'no-checkpointing';
const seq = Number(seqArg ?? 128);
const steps = Number(stepsArg ?? 1);
await initBackend({ log: false });
const t0 = performance.now();
const { model, config } = loadGemma(dir, { ...QLORA_LOAD_OPTIONS, tokenizer: false });
const loadSeconds = (performance.now() - t0) / 1000;
const afterLoad = vmHWM();
const prepared = prepareMethod(model, 'qlora', { r: 8, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] });
model.model.gradientCheckpointing = checkpointing;
const rng = new Rng(3);
const ids = Array.from({ length: seq }, (_, i) => (i === 0 ? 2 : 3 + Math.floor(rng.next() * (config.vocabSize - 3))));
const example = { inputIds: ids, labels: ids };
const trainer = new Trainer(model, prepared.trainable, [example], null, { steps, lr: 2e-4, batchSize: 1, outDir, maxGradNorm: 0.3 }, 0);
const t1 = performance.now();
const recs = trainer.run();
const stepSeconds = (performance.now() - t1) / 1000 / steps;
console.log(JSON.stringify({
  seqLen: seq, batchSize: 1, gradientCheckpointing: checkpointing, r: 8, targets: 'q_proj,k_proj,v_proj,o_proj', loadSeconds, stepSeconds, loss: recs.map((r) => r.loss),
  trainableParameters: [...prepared.trainable.params.values()].reduce((s, v) => s + v.size, 0),
  peakRssAfterLoadBytes: afterLoad, peakRssBytes: vmHWM(),
}));
