import * as tf from '@tensorflow/tfjs';
import { nativeGeluTanh } from '../backend/nativeOps.js';

/**
 * tanh-approximate GELU (`gelu_pytorch_tanh`): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). One native pass where the
 * native kernels are on (backend/nativeOps.ts); the TF.js ops below otherwise, and as the reference.
 */
export function geluTanh(x: tf.Tensor): tf.Tensor {
  return nativeGeluTanh(x) ?? geluTanhReference(x);
}

/** tanh-GELU in TF.js ops. */
export function geluTanhReference(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const inner = x.add(x.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
    return x.mul(0.5).mul(inner.tanh().add(1));
  });
}

export type Activation = 'gelu_tanh' | 'relu';

export function activate(x: tf.Tensor, act: Activation): tf.Tensor {
  return act === 'relu' ? tf.relu(x) : geluTanh(x);
}
