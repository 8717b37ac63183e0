/**
 * Directional finite differences: for a scalar loss L(θ) and a random direction V,
 *   (L(θ + εV) − L(θ − εV)) / 2ε   ≈   ⟨∇L(θ), V⟩
 * with error O(ε²) (zero when L is linear or quadratic in θ along V) plus float32 rounding O(u·|L|/ε).
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../lib/src/util/rng.js';

export function directionalCheck(
  loss: () => tf.Scalar,
  variable: tf.Variable,
  grad: tf.Tensor,
  opts: { eps?: number; seed?: number } = {},
): { analytic: number; numeric: number; relErr: number; scaledErr: number } {
  const eps = opts.eps ?? 1e-2;
  const rng = new Rng(opts.seed ?? 1);
  const v = tf.tensor(rng.normalArray(variable.size), variable.shape);
  const orig = variable.clone();
  const at = (s: number) => {
    variable.assign(orig.add(v.mul(s)));
    const l = loss();
    const val = l.dataSync()[0];
    l.dispose();
    return val;
  };
  const numeric = (at(eps) - at(-eps)) / (2 * eps);
  variable.assign(orig);
  const analytic = tf.sum(grad.mul(v)).dataSync()[0];
  // Σ|g_i·v_i|: the size of the terms whose sum is the directional derivative. When they cancel, |analytic| is
  // small and relErr measures float32 rounding of the loss rather than the gradient; scaledErr does not.
  const scale = tf.sum(tf.abs(grad.mul(v))).dataSync()[0];
  orig.dispose();
  v.dispose();
  const err = Math.abs(analytic - numeric);
  return {
    analytic,
    numeric,
    relErr: err / Math.max(1e-8, Math.abs(analytic), Math.abs(numeric)),
    scaledErr: err / Math.max(1e-8, scale),
  };
}
