/**
 * bf16 rounding for TF.js tensors. TF.js computes in float32 only, so "bf16 compute" means rounding the operands to
 * bf16 values (round-to-nearest-even) and accumulating in float32; this is that rounding, for a tensor.
 */
import * as tf from '@tensorflow/tfjs';
import { roundToBf16 } from '../quant/bf16.js';

/** A new float32 tensor holding `t`'s values rounded to bf16. */
export function roundTensorToBf16<R extends tf.Rank>(t: tf.Tensor<R>): tf.Tensor<R> {
  if (t.dtype !== 'float32') throw new Error(`roundTensorToBf16: expected a float32 tensor, got ${t.dtype}`);
  const values = roundToBf16(t.dataSync() as Float32Array);
  return tf.tensor(values, t.shape, 'float32') as tf.Tensor<R>;
}
