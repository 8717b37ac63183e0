/**
 * Gemma's RMSNorm (`GemmaRMSNorm`): y = x · rsqrt(mean(x²) + eps) · (1 + w), computed in float32, with w initialised
 * at zero (so the scale starts at 1). Llama multiplies by w; Gemma by (1 + w).
 */
import * as tf from '@tensorflow/tfjs';
import { Module, type ParamInfo } from './module.js';

export class GemmaRMSNorm extends Module {
  weight: tf.Variable;
  constructor(readonly dim: number, readonly eps = 1e-6, weight?: Float32Array) {
    super();
    this.weight = tf.variable(weight ? tf.tensor1d(weight) : tf.zeros([dim]), false);
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const ms = x.square().mean(-1, true);
      return x.mul(tf.rsqrt(ms.add(this.eps))).mul(this.weight.add(1));
    });
  }
  override ownParameters(): ParamInfo[] {
    return [{ name: 'weight', shape: [this.dim], numel: this.dim, trainable: this.weight.trainable, variable: this.weight }];
  }
  protected override setOwnTrainable(t: boolean): void {
    this.weight.trainable = t;
  }
  protected override disposeOwn(): void {
    this.weight.dispose();
  }
}
