// The training step the train-step benchmark times and its profile dissects: a model folder loaded for LoRA (dense
// frozen base) or QLoRA (NF4 + double quantization + bf16 compute), LoRA on the given targets, random tokens.
import { loadGemma } from '../lib/dist/models/gemma/index.js';
import { Trainer, prepareMethod, QLORA_LOAD_OPTIONS } from '../lib/dist/train/index.js';
import { Rng } from '../lib/dist/util/rng.js';

/** The model, its trainable set and a batch of random examples for options `o` (see trainStepChild.mjs). */
export function setupStep(o) {
  const { model, config } = loadGemma(o.modelDir, { ...(o.method === 'qlora' ? QLORA_LOAD_OPTIONS : {}), tokenizer: false });
  const prepared = prepareMethod(model, o.method, { r: o.r, loraAlpha: 2 * o.r, targetModules: o.targets });
  model.model.gradientCheckpointing = o.checkpointing;
  const rng = new Rng(3);
  const examples = Array.from({ length: o.batch }, () => {
    const ids = Array.from({ length: o.seq }, (_, i) => (i === 0 ? 2 : 3 + Math.floor(rng.next() * (config.vocabSize - 3))));
    return { inputIds: ids, labels: ids };
  });
  return { model, config, prepared, examples };
}

/** `steps` training steps of batch `o.batch` (AdamW, lr 1e-4), writing nothing but to `outDir`; their records. */
export function runSteps(setup, o, steps, outDir) {
  const trainer = new Trainer(setup.model, setup.prepared.trainable, setup.examples, null, { steps, lr: 1e-4, batchSize: o.batch, outDir }, 0);
  return trainer.run();
}

/** Seconds of each step from the trainer's records (elapsedSeconds is cumulative). */
export const stepSeconds = (recs) => recs.map((r, i) => r.elapsedSeconds - (i ? recs[i - 1].elapsedSeconds : 0));
