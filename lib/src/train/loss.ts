/**
 * Causal language-modelling loss: the logits at position t predict token t+1, and positions whose label is
 * IGNORE_INDEX (-100, as in transformers) — the prompt and the padding — do not count:
 *
 *   L = − (1/|M|) Σ_{(b,t) ∈ M} log softmax(logits[b, t])[labels[b, t+1]]
 */
import * as tf from '@tensorflow/tfjs';
import type { GemmaForCausalLM } from '../models/gemma/model.js';
import { productXWt } from '../layers/linear.js';
import { nativeHeadLoss } from '../backend/nativeOps.js';
import { ArgumentError, ShapeError } from '../util/errors.js';
import { DataError } from './errors.js';

export const IGNORE_INDEX = -100;

/**
 * The labels the logits at [b, t] are scored against, labels[b][t + 1], flattened to B·(T − 1) positions: `target`
 * (`fill` where masked), `mask` (1 where a label counts) and how many count. Labels must be [B][T] like the inputs.
 */
function shiftedTargets(labels: number[][], B: number, T: number, V: number, where: string, fill: number): { target: Int32Array; mask: Float32Array; count: number } {
  const ragged = labels.findIndex((row) => row.length !== T);
  if (labels.length !== B || ragged >= 0) {
    const got = labels.length !== B ? `${labels.length} rows` : `row ${ragged} has ${labels[ragged].length} labels`;
    throw new ShapeError(`${got} for inputs [${B}, ${T}]`, { file: where, field: 'labels', expected: `[${B}][${T}], one label per input token` });
  }
  const target = new Int32Array(B * (T - 1)).fill(fill);
  const mask = new Float32Array(B * (T - 1));
  let count = 0;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T - 1; t++) {
      const y = labels[b][t + 1];
      if (y === IGNORE_INDEX) continue;
      if (!Number.isInteger(y) || y < 0 || y >= V) throw new ArgumentError(`label ${y} at [${b}, ${t + 1}] is outside the vocabulary [0, ${V})`, { file: where, field: 'labels', expected: `${IGNORE_INDEX} or integers in [0, ${V})` });
      target[b * (T - 1) + t] = y;
      mask[b * (T - 1) + t] = 1;
      count++;
    }
  }
  if (count === 0) throw new DataError('the batch has no tokens to learn from (every label is masked)', { file: where, field: 'labels' });
  return { target, mask, count };
}

/** One-hot rows of `depth` columns (TF.js's oneHot refuses a depth of 1, which a last vocabulary chunk can have). */
function chunkOneHot(indices: tf.Tensor1D, depth: number): tf.Tensor2D {
  return depth >= 2 ? tf.oneHot(indices, depth) as tf.Tensor2D : tf.tidy(() => tf.oneHot(indices, 2).slice([0, 0], [-1, 1]) as tf.Tensor2D);
}

/** logits [B, T, V], labels [B][T] aligned with the inputs (shifted here). */
export function causalLmLoss(logits: tf.Tensor3D, labels: number[][]): tf.Scalar {
  const [B, T, V] = logits.shape;
  const { target, mask, count } = shiftedTargets(labels, B, T, V, 'causalLmLoss', 0);
  return tf.tidy(() => {
    const lp = tf.logSoftmax(logits.slice([0, 0, 0], [B, T - 1, V]).reshape([B * (T - 1), V]));
    const picked = tf.sum(lp.mul(tf.oneHot(tf.tensor1d(target, 'int32'), V)), 1);
    return tf.sum(picked.mul(tf.tensor1d(mask))).div(-count) as tf.Scalar;
  });
}

/**
 * The causal LM loss fused with a frozen, tied output head, never materialising the [N, V] logits: the vocabulary is
 * walked in chunks with a running log-sum-exp (max M, sum S: S ← S·e^{M_old−M} + Σ e^{z−M}), and the backward pass
 * recomputes each chunk to form dL/dh = Σ_chunks (softmax − onehot)·E_chunk / |M|. For Gemma-2B (V = 256000) this keeps
 * a 128-token step's loss at a few megabytes instead of several [128, 256000] float32 tensors.
 */
export function fusedHeadCausalLoss(h: tf.Tensor3D, head: { numEmbeddings: number; embeddingDim: number; rowsTensor(s: number, e: number): tf.Tensor2D; chunkRows: number; hostTable?(): Float32Array | Uint16Array | null }, labels: number[][]): tf.Scalar {
  const [B, T, d] = h.shape;
  const V = head.numEmbeddings;
  const N = B * (T - 1);
  const { target, mask: maskArr, count } = shiftedTargets(labels, B, T, V, 'fusedHeadCausalLoss', -1);
  const table = head.hostTable?.() ?? null;
  if (table) {
    // the native kernel scores every position of h: the last of each row has no target
    const all = new Int32Array(B * T).fill(-1);
    for (let b = 0; b < B; b++) all.set(target.subarray(b * (T - 1), (b + 1) * (T - 1)), b * T);
    const native = nativeHeadLoss(h, table, V, all, count);
    if (native) return native;
  }
  const chunk = head.chunkRows;
  const chunkTensor = (s: number, e: number) => head.rowsTensor(s, e);
  /** logits of a chunk for the N positions: h · E_cᵀ */
  const chunkLogits = (h2: tf.Tensor2D, w: tf.Tensor2D) => productXWt(h2, w);
  const targetsFor = (s: number, e: number) => tf.tensor1d(Array.from(target, (y) => (y >= s && y < e ? y - s : -1)), 'int32');

  const positions = (hIn: tf.Tensor3D) => hIn.slice([0, 0, 0], [B, T - 1, d]).reshape([N, d]) as tf.Tensor2D;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [hIn, save] = args as [tf.Tensor3D, tf.GradSaveFunc];
    const h2 = positions(hIn);
    let M = tf.fill([N], -Infinity) as tf.Tensor1D;
    let S = tf.zeros([N]) as tf.Tensor1D;
    let Z = tf.zeros([N]) as tf.Tensor1D; // the target's logit
    for (let s = 0; s < V; s += chunk) {
      const e = Math.min(V, s + chunk);
      const [M2, S2, Z2] = tf.tidy(() => {
        const w = chunkTensor(s, e);
        const z = chunkLogits(h2, w);
        const m = tf.maximum(M, z.max(1));
        const s2 = S.mul(tf.exp(M.sub(m))).add(tf.exp(z.sub(m.expandDims(1))).sum(1));
        const z2 = Z.add(z.mul(chunkOneHot(targetsFor(s, e), e - s)).sum(1));
        return [m, s2, z2];
      });
      M.dispose();
      S.dispose();
      Z.dispose();
      [M, S, Z] = [M2 as tf.Tensor1D, S2 as tf.Tensor1D, Z2 as tf.Tensor1D];
    }
    const lse = tf.tidy(() => M.add(tf.log(S)));
    const value = tf.tidy(() => tf.sum(lse.sub(Z).mul(tf.tensor1d(maskArr))).div(count) as tf.Scalar);
    M.dispose();
    S.dispose();
    Z.dispose();
    save([hIn, lse]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const h2 = positions(saved[0] as tf.Tensor3D);
          const lse = saved[1];
          const coef = tf.tensor1d(maskArr).mul(dy).div(count).expandDims(1); // [N, 1]
          let dh2: tf.Tensor = tf.zeros([N, d]);
          for (let s = 0; s < V; s += chunk) {
            const e = Math.min(V, s + chunk);
            const next = tf.tidy(() => {
              const w = chunkTensor(s, e);
              const z = chunkLogits(h2, w);
              const g = tf.exp(z.sub(lse.expandDims(1))).sub(chunkOneHot(targetsFor(s, e), e - s)).mul(coef);
              return dh2.add(tf.matMul(g as tf.Tensor2D, w));
            });
            dh2.dispose();
            dh2 = next;
          }
          // the last position predicts nothing: its gradient is zero
          return tf.concat([dh2.reshape([B, T - 1, d]), tf.zeros([B, 1, d])], 1);
        }),
    };
  });
  return op(h) as tf.Scalar;
}

/**
 * The loss as a function of a model's final hidden states (head + loss). With a frozen tied head (every method but
 * full fine-tuning) the head and the loss are fused, so that the [tokens, vocabulary] logits never exist; otherwise
 * logits, then the loss.
 */
export function headLoss(model: GemmaForCausalLM, labels: number[][]): (h: tf.Tensor3D) => tf.Scalar {
  const head = model.lmHead ?? model.model.embedTokens;
  if (!head.variable && !head.meta) return (h) => fusedHeadCausalLoss(h, head, labels);
  return (h) => causalLmLoss(head.project(h) as tf.Tensor3D, labels);
}
