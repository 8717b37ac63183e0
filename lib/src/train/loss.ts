/**
 * Causal language-modelling loss: the logits at position t predict token t+1, and positions whose label is
 * IGNORE_INDEX (-100, as in transformers) — the prompt and the padding — do not count:
 *
 *   L = − (1/|M|) Σ_{(b,t) ∈ M} log softmax(logits[b, t])[labels[b, t+1]]
 */
import * as tf from '@tensorflow/tfjs';

export const IGNORE_INDEX = -100;

/** logits [B, T, V], labels [B][T] aligned with the inputs (shifted here). */
export function causalLmLoss(logits: tf.Tensor3D, labels: number[][]): tf.Scalar {
  const [B, T, V] = logits.shape;
  const target = new Int32Array(B * (T - 1));
  const mask = new Float32Array(B * (T - 1));
  let count = 0;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T - 1; t++) {
      const y = labels[b][t + 1];
      if (y !== IGNORE_INDEX) {
        if (!Number.isInteger(y) || y < 0 || y >= V) throw new Error(`label ${y} at [${b}, ${t + 1}] is outside the vocabulary [0, ${V})`);
        target[b * (T - 1) + t] = y;
        mask[b * (T - 1) + t] = 1;
        count++;
      }
    }
  }
  if (count === 0) throw new Error('the batch has no tokens to learn from (every label is masked)');
  return tf.tidy(() => {
    const lp = tf.logSoftmax(logits.slice([0, 0, 0], [B, T - 1, V]).reshape([B * (T - 1), V]));
    const picked = tf.sum(lp.mul(tf.oneHot(tf.tensor1d(target, 'int32'), V)), 1);
    return tf.sum(picked.mul(tf.tensor1d(mask))).div(-count) as tf.Scalar;
  });
}
