/**
 * Rotary position embedding as transformers' Gemma computes it, "halves" layout:
 *   inv_freq[i] = 1 / θ^(2i/d)   (float32),  angle = pos · inv_freq,  emb = [angle, angle]
 *   q' = q·cos(emb) + rotate_half(q)·sin(emb),   rotate_half([x1, x2]) = [−x2, x1]
 */
import * as tf from '@tensorflow/tfjs';

const fr = Math.fround;

export function invFreq(headDim: number, theta: number): Float32Array {
  const out = new Float32Array(headDim / 2);
  for (let i = 0; i < out.length; i++) out[i] = fr(1 / fr(fr(theta) ** fr((2 * i) / headDim)));
  return out;
}

/** cos and sin tables [T, headDim] for positions start..start+T-1. */
export function ropeTables(positions: number[], headDim: number, theta: number): { cos: tf.Tensor2D; sin: tf.Tensor2D } {
  const inv = invFreq(headDim, theta);
  const half = headDim / 2;
  const cos = new Float32Array(positions.length * headDim);
  const sin = new Float32Array(positions.length * headDim);
  positions.forEach((p, t) => {
    for (let i = 0; i < half; i++) {
      const a = fr(p * inv[i]);
      const c = fr(Math.cos(a));
      const s = fr(Math.sin(a));
      cos[t * headDim + i] = c;
      cos[t * headDim + i + half] = c;
      sin[t * headDim + i] = s;
      sin[t * headDim + i + half] = s;
    }
  });
  return { cos: tf.tensor2d(cos, [positions.length, headDim]), sin: tf.tensor2d(sin, [positions.length, headDim]) };
}

/** x [B, H, T, d] rotated by the tables [T, d]. */
export function applyRope(x: tf.Tensor4D, cos: tf.Tensor2D, sin: tf.Tensor2D): tf.Tensor4D {
  return tf.tidy(() => {
    const d = x.shape[3];
    const x1 = x.slice([0, 0, 0, 0], [-1, -1, -1, d / 2]);
    const x2 = x.slice([0, 0, 0, d / 2], [-1, -1, -1, d / 2]);
    const rotated = tf.concat([x2.neg(), x1], 3);
    return x.mul(cos).add(rotated.mul(sin)) as tf.Tensor4D;
  });
}
