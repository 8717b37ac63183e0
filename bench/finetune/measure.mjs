// Measurements the CLI does not make, run in the runner's own process on LoRA Lab's built library: a model's mean
// next-token loss on held-out pre-training text (forgetting), KL(teacher ‖ student) on held-out text (planted rank),
// and the planted-rank teacher itself (base + a known rank-k ΔW) with the data its students learn from.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../lib/dist/util/rng.js';

const lib = async () => ({
  ...(await import('../../lib/dist/backend/index.js')),
  ...(await import('../../lib/dist/models/gemma/index.js')),
  ...(await import('../../lib/dist/peft/index.js')),
  ...(await import('../../lib/dist/train/index.js')),
});
let ready = null;
const init = async () => {
  ready ??= (async () => {
    const l = await lib();
    await l.initBackend();
    return l;
  })();
  return ready;
};

/** A model as `loralab eval` would load it: a folder, optionally 4-bit, with a PEFT adapter or a trainable folder. */
export async function openModel(dir, { adapter, trainable, loadIn4bit = false } = {}) {
  const l = await init();
  const { model, tokenizer, config } = l.loadGemma(dir, loadIn4bit ? l.QLORA_LOAD_OPTIONS : {});
  if (!tokenizer) throw new Error(`${dir}: no tokenizer.json`);
  if (adapter) l.loadPeftAdapter(model, adapter);
  if (trainable) {
    const m = JSON.parse(readFileSync(join(trainable, 'method.json'), 'utf8'));
    l.prepareMethod(model, m.method, { r: m.r }).trainable.load(trainable);
  }
  return { model, tokenizer, config };
}

/** log-softmax of one row of logits, in float64. */
function logSoftmaxRow(z, off, V) {
  let max = -Infinity;
  for (let v = 0; v < V; v++) max = Math.max(max, z[off + v]);
  let s = 0;
  for (let v = 0; v < V; v++) s += Math.exp(z[off + v] - max);
  const lse = max + Math.log(s);
  const out = new Float64Array(V);
  for (let v = 0; v < V; v++) out[v] = z[off + v] - lse;
  return out;
}

function logitsOf(model, ids) {
  const t = model.forward([ids]);
  try {
    return t.dataSync();
  } finally {
    t.dispose();
  }
}

const encodeAll = (tok, texts, maxLength) => texts.map((x) => tok.encode(x, { addSpecialTokens: true }).slice(0, maxLength)).filter((ids) => ids.length >= 2);

/** Mean next-token cross-entropy (nats per token) over `texts`: −(1/N) Σ log p(x_{t+1} | x_≤t). */
export function meanTokenLoss(m, texts, { maxLength = 128 } = {}) {
  const V = m.config.vocabSize;
  let sum = 0;
  let n = 0;
  for (const ids of encodeAll(m.tokenizer, texts, maxLength)) {
    const z = logitsOf(m.model, ids);
    for (let t = 0; t + 1 < ids.length; t++) {
      sum -= logSoftmaxRow(z, t * V, V)[ids[t + 1]];
      n++;
    }
  }
  return { loss: sum / n, tokens: n };
}

/** Mean per-token KL(teacher ‖ student) = Σ_v p_T(v) (log p_T(v) − log p_S(v)), over every position of `texts`. */
export function klDivergence(teacher, student, texts, { maxLength = 128 } = {}) {
  const V = teacher.config.vocabSize;
  let sum = 0;
  let n = 0;
  for (const ids of encodeAll(teacher.tokenizer, texts, maxLength)) {
    const zt = logitsOf(teacher.model, ids);
    const zs = logitsOf(student.model, ids);
    for (let t = 0; t < ids.length; t++) {
      const lt = logSoftmaxRow(zt, t * V, V);
      const ls = logSoftmaxRow(zs, t * V, V);
      for (let v = 0; v < V; v++) sum += Math.exp(lt[v]) * (lt[v] - ls[v]);
      n++;
    }
  }
  return { kl: sum / n, positions: n };
}

/** The held-out pre-training paragraphs: every 50th paragraph of the corpus, as scripts/pretrain-gemma-micro.mjs holds out. */
export function heldOutCorpus(corpusPath, count) {
  const paragraphs = readFileSync(corpusPath, 'utf8').split('\n\n').filter(Boolean);
  return paragraphs.filter((_, i) => i % 50 === 0).slice(0, count);
}

const frobenius = (a) => Math.sqrt(a.reduce((s, x) => s + x * x, 0));

/**
 * The planted-rank teacher: the base with W ← W + ΔW on `targets`, ΔW = B·A of rank k (A [k, in], B [out, k],
 * Gaussian), scaled so ‖ΔW‖_F = relativeNorm · ‖W‖_F. Built as a LoRA of rank k with those factors (lora_alpha = k,
 * so γ = 1) merged into the weights, and saved as a model folder; writes teacher.json with what was planted.
 */
export async function buildTeacher(baseDir, outDir, { k, targets, relativeNorm, seed }) {
  const l = await init();
  const { model } = l.loadGemma(baseDir, { dtype: 'float32' });
  const prepared = l.prepareMethod(model, 'lora', { r: k, loraAlpha: k, targetModules: targets.split(','), seed });
  const rng = new Rng(seed);
  const layers = [];
  for (const [path, lora] of prepared.peft.loraLayers) {
    const W = lora.baseLayer.denseWeight();
    const [inF, outF] = [lora.inFeatures, lora.outFeatures];
    const A = rng.normalArray(k * inF, 1 / Math.sqrt(inF));
    const B = rng.normalArray(outF * k, 1);
    // ‖B·A‖_F for these factors, then B rescaled so the product has the wanted norm
    const delta = new Float64Array(outF * inF);
    for (let o = 0; o < outF; o++) for (let j = 0; j < k; j++) for (let i = 0; i < inF; i++) delta[o * inF + i] += B[o * k + j] * A[j * inF + i];
    const s = (relativeNorm * frobenius(W)) / frobenius(delta);
    for (let i = 0; i < B.length; i++) B[i] *= s;
    lora.loraA.assign(tf.tensor2d(A, [k, inF]));
    lora.loraB.assign(tf.tensor2d(B, [outF, k]));
    layers.push({ path, in: inF, out: outF, weightNorm: frobenius(W), deltaNorm: relativeNorm * frobenius(W) });
  }
  const merged = prepared.peft.mergeAndUnload({ safeMerge: true }).model;
  const tmp = `${outDir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  l.saveGemma(merged, tmp, { dtype: 'float32', tokenizerFrom: baseDir });
  writeFileSync(join(tmp, 'teacher.json'), `${JSON.stringify({ base: baseDir, k, targets, relativeNorm, seed, layers }, null, 2)}\n`);
  rmSync(outDir, { recursive: true, force: true });
  renameSync(tmp, outDir);
  return { layers };
}

/**
 * The students' data: answers sampled from the teacher (temperature 1, seeded) to the task's questions, as
 * {question, sql} JSONL, and held-out texts (prompt + a sampled answer to other questions) on which KL is measured.
 * Cross-entropy on samples of p_T is, in expectation, KL(p_T ‖ p_S) + H(p_T): training on them fits the student to
 * the teacher's distribution, not only to its most likely answer.
 */
export async function teacherData(teacherDir, outDir, { trainQuestions, heldOutQuestions, sqlDir, seed = 0, maxNewTokens = 48 }) {
  const l = await init();
  const teacher = await openModel(teacherDir);
  const read = (f) => readFileSync(join(sqlDir, f), 'utf8').trim().split('\n').map((x) => JSON.parse(x));
  const sample = (records, offset) => records.map((r, i) => {
    const ids = l.generate(teacher.model, teacher.tokenizer.encode(l.SQL_TEMPLATE.prompt(r)), { maxNewTokens, temperature: 1, topP: 1, seed: seed + offset + i, eosId: teacher.config.eosTokenId });
    return { question: r.question, sql: teacher.tokenizer.decode(ids, { skipSpecialTokens: true }).trim() };
  });
  mkdirSync(outDir, { recursive: true });
  const train = sample(read('train.jsonl').slice(0, trainQuestions), 0).filter((r) => r.sql.length > 0);
  const held = sample(read('valid.jsonl').slice(0, heldOutQuestions), 1_000_000);
  writeFileSync(join(outDir, 'train.jsonl'), `${train.map((r) => JSON.stringify(r)).join('\n')}\n`);
  writeFileSync(join(outDir, 'valid.jsonl'), `${held.map((r) => JSON.stringify(r)).join('\n')}\n`);
  writeFileSync(join(outDir, 'held-out.json'), `${JSON.stringify(held.map((r) => `${l.SQL_TEMPLATE.prompt(r)}${r.sql}`), null, 2)}\n`);
  return { train: train.length, heldOut: held.length, sampling: 'temperature 1, top-p 1' };
}
