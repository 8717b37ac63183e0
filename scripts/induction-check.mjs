// Can LoRA Lab's Gemma learn to copy? Trains gemma-micro's exact configuration (scripts/pretrain-gemma-micro.mjs),
// from random init, on pure synthetic rows: segments <bos> x_1..x_L x_1..x_L [x_1..x_L], x_i uniform over ids
// 4..4095, L uniform in [--min-len, --max-len], packed back to back into rows of --seq tokens. Only the repeats carry
// a loss (the first copy is random, nothing predicts it), so copying is the only way down. A model that forms an
// induction head (a previous-token head, then a head that attends to the token after the earlier occurrence of the
// current token and copies it) goes from chance (1/4092) to > 90 % next-token accuracy on the repeats in a few hundred
// steps; one that stays near 0 cannot copy, whatever its corpus.
// Every --every steps it prints and logs {step, loss, accuracy} on --eval-rows fixed held-out rows (accuracy over
// repeated tokens 2..L of each repeat: the first token of a repeat is not determined by the context).
// Run: npm run build && node scripts/induction-check.mjs [--steps 600] [--lr 1e-3] [--batch 8] [--seq 128]
//      [--min-len 16] [--max-len 48] [--repeats 1] [--ids 4096] [--every 25] [--eval-rows 16] [--seed 1] [--log FILE]
//      [--save DIR] [--eval-model DIR] [--hidden 256] [--layers 4] [--vocab 4096] [--untied]
// --ids N draws the span ids from 4..N-1 only (default 4096: the whole vocabulary); the accuracy is then also
// reported on held-out rows over all ids (accuracyAllIds), to see whether the copying carries over to untrained ids.
// --hidden H, --layers N and --vocab V train a control of another size (4 query heads of H/4, MLP 3H, V token ids;
// default gemma-micro's).
// --eval-model DIR trains nothing: it prints the copy accuracy of a model folder (e.g. a snapshot of a pre-training
// run) on the same held-out rows, as {"model", "accuracy", "accuracyAllIds"}.
// --save DIR writes the trained model folder (config.json, model.safetensors) at the end, e.g. to start the
// curriculum of scripts/pretrain-gemma-micro.mjs from weights that already copy.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, appendFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../lib/dist/backend/index.js';
import { createGemma, loadGemma, parseGemmaConfig, saveGemma } from '../lib/dist/models/gemma/index.js';
import { Trainer, prepareMethod } from '../lib/dist/train/index.js';
import { GEMMA_MICRO_CONFIG, repeatedSpanRows } from './synthetic-copy.mjs';
import { argReader } from './cli-args.mjs';

const root = new URL('..', import.meta.url).pathname;
const arg = argReader();
const STEPS = arg('--steps', 600);
const LR = arg('--lr', 1e-3);
const BATCH = arg('--batch', 8);
const SEQ = arg('--seq', 128);
const MIN_LEN = arg('--min-len', 16);
const MAX_LEN = arg('--max-len', 48);
const REPEATS = arg('--repeats', 1);
const EVERY = arg('--every', 25);
const EVAL_ROWS = arg('--eval-rows', 16);
const SEED = arg('--seed', 1);
const ID_LIMIT = Math.min(arg('--ids', 4096), arg('--vocab', 4096));
const LOG = arg('--log', '');
const SAVE = arg('--save', '');
const EVAL_MODEL = arg('--eval-model', '');
const HIDDEN = arg('--hidden', GEMMA_MICRO_CONFIG.hidden_size);
const LAYERS = arg('--layers', GEMMA_MICRO_CONFIG.num_hidden_layers);
const VOCAB = arg('--vocab', GEMMA_MICRO_CONFIG.vocab_size);
const UNTIED = process.argv.includes('--untied');
if (MIN_LEN > MAX_LEN) throw new Error(`--min-len ${MIN_LEN} is above --max-len ${MAX_LEN}`);

await initBackend();
// a control at another width keeps gemma-micro's shape ratios: 4 query heads of hidden/4, MLP 3 × hidden
const sized = HIDDEN === GEMMA_MICRO_CONFIG.hidden_size && LAYERS === GEMMA_MICRO_CONFIG.num_hidden_layers && VOCAB === GEMMA_MICRO_CONFIG.vocab_size ? GEMMA_MICRO_CONFIG
  : { ...GEMMA_MICRO_CONFIG, hidden_size: HIDDEN, head_dim: HIDDEN / 4, intermediate_size: 3 * HIDDEN, num_hidden_layers: LAYERS, vocab_size: VOCAB };
// --untied: a separate output head (lm_head.weight), to see whether tying the head to the input embedding delays copying
const configJson = UNTIED ? { ...sized, tie_word_embeddings: false } : sized;
const config = parseGemmaConfig(configJson);
const model = EVAL_MODEL ? loadGemma(join(root, EVAL_MODEL)).model : createGemma(config, { seed: 1234 });
const spans = { vocabSize: config.vocabSize, idLimit: ID_LIMIT, minLen: MIN_LEN, maxLen: MAX_LEN, repeats: REPEATS, bosId: config.bosTokenId };
// enough training rows that no row is seen twice in the run
const held = repeatedSpanRows(EVAL_ROWS, SEQ, { ...spans, seed: SEED + 1_000_003 });
// with --ids below the vocabulary: does the copying carry over to ids never trained on?
const heldAllIds = ID_LIMIT < config.vocabSize ? repeatedSpanRows(EVAL_ROWS, SEQ, { ...spans, idLimit: config.vocabSize, seed: SEED + 2_000_003 }) : null;

/** Greedy next-token accuracy on the scored positions of held-out rows (see repeatedSpanRows' `scored`). */
function accuracy(held) {
  let right = 0;
  let total = 0;
  for (let i = 0; i < held.length; i += BATCH) {
    const rows = held.slice(i, i + BATCH);
    const pred = tf.tidy(() => model.forward(rows.map((r) => r.inputIds)).argMax(-1).arraySync());
    rows.forEach((r, b) => {
      for (const t of r.scored) {
        total++;
        if (pred[b][t - 1] === r.inputIds[t]) right++;
      }
    });
  }
  return right / total;
}

if (EVAL_MODEL) {
  const rec = { model: EVAL_MODEL, accuracy: accuracy(held), ...(heldAllIds && { accuracyAllIds: accuracy(heldAllIds) }) };
  console.log(JSON.stringify(rec));
  process.exit(0);
}
const { trainable } = prepareMethod(model, 'full');
const train = repeatedSpanRows(STEPS * BATCH, SEQ, { ...spans, seed: SEED });
const logPath = LOG && resolve(LOG);
if (LOG) writeFileSync(logPath, '');
const report = (step, loss, elapsed) => {
  const rec = { step, loss, accuracy: accuracy(held), ...(heldAllIds && { accuracyAllIds: accuracy(heldAllIds) }), elapsedSeconds: elapsed };
  const all = heldAllIds ? `, on all ids ${(100 * rec.accuracyAllIds).toFixed(1)} %` : '';
  console.error(`step ${step}/${STEPS} loss ${loss.toFixed(3)} copy accuracy ${(100 * rec.accuracy).toFixed(1)} %${all} (${elapsed.toFixed(0)} s)`);
  if (LOG) appendFileSync(logPath, `${JSON.stringify(rec)}\n`);
};
console.error(`${configJson === GEMMA_MICRO_CONFIG ? 'gemma-micro' : `a control of hidden ${HIDDEN}, ${LAYERS} layers, vocabulary ${VOCAB},`} from random init on repeated spans: ids 4..${ID_LIMIT - 1}, L ${MIN_LEN}..${MAX_LEN}, ${REPEATS} repeat(s), rows of ${SEQ}, batch ${BATCH}, lr ${LR}`);
report(0, NaN, 0);
const scratch = mkdtempSync(join(tmpdir(), 'induction-check-'));
const trainer = new Trainer(model, trainable, train, null, {
  steps: STEPS, lr: LR, batchSize: BATCH, warmupSteps: Math.min(50, STEPS), schedule: 'constant', weightDecay: 0.01, maxGradNorm: 1, seed: SEED,
  // each run its own scratch folder (the trainer's metrics and final checkpoint), so that runs side by side never share one
  outDir: scratch, resume: false,
}, config.padTokenId);
try {
  trainer.run({ onStep: (m) => { if (m.step % EVERY === 0) report(m.step, m.loss, m.elapsedSeconds); } });
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
if (SAVE) {
  const dir = join(root, SAVE);
  mkdirSync(dir, { recursive: true });
  saveGemma(model, dir, { dtype: 'float32' });
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(configJson, null, 2)}\n`);
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(root, 'datasets/models/gemma-micro-copy', f), join(dir, f));
  console.error(`saved ${dir}`);
}
