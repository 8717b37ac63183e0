/**
 * Comparison methods for the brief's section 5.
 *
 * Bottleneck adapter (Houlsby et al. 2019): z ↦ z + W_up · act(W_down · z + b_down) + b_up, inserted after the
 * attention block and after the MLP of every layer. W_up starts at zero, so the adapter starts as the identity.
 * Trainable parameters per adapter: 2·h·m + m + h (h = hidden size, m = bottleneck). It sits in the forward path and
 * cannot be merged away: every token pays 2·2·h·m extra FLOPs per adapter at inference.
 *
 * Prefix tuning (Li & Liang 2021): per layer, P trainable key and value vectors prepended to the attention's keys and
 * values. Trainable parameters: layers · 2 · P · (kv heads · head dim). Every token attends to P more positions.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng.js';
import { activate, type Activation } from './activations.js';
import { Linear, kaimingUniform } from './linear.js';
import { bottleneckAdapterParameters, prefixParameters } from './counts.js';
import { Module, type ParamInfo } from './module.js';
import { ArgumentError } from '../util/errors.js';

export interface BottleneckConfig {
  /** Bottleneck width m. */
  bottleneck: number;
  activation?: Activation;
  seed?: number;
}

export class BottleneckAdapter extends Module {
  readonly down: Linear;
  readonly up: Linear;
  readonly activation: Activation;
  constructor(readonly hidden: number, cfg: BottleneckConfig) {
    super();
    const m = cfg.bottleneck;
    if (!Number.isInteger(m) || m <= 0) throw new ArgumentError(`got ${m}`, { file: 'BottleneckAdapter', field: 'bottleneck', expected: 'a positive integer' });
    const rng = new Rng(cfg.seed ?? 0);
    this.down = this.register('down', new Linear(hidden, m, { weight: kaimingUniform(m, hidden, () => rng.next()), bias: new Float32Array(m) }));
    this.up = this.register('up', new Linear(m, hidden, { weight: new Float32Array(hidden * m), bias: new Float32Array(hidden) }));
    this.activation = cfg.activation ?? 'gelu_tanh';
  }
  forward(z: tf.Tensor): tf.Tensor {
    return tf.tidy(() => z.add(this.up.forward(activate(this.down.forward(z), this.activation))));
  }
  static parameterCount(hidden: number, bottleneck: number): number {
    return bottleneckAdapterParameters(hidden, bottleneck);
  }
  /** Extra multiply-add FLOPs per token (2 per multiply-accumulate). */
  static flopsPerToken(hidden: number, bottleneck: number): number {
    return 2 * 2 * hidden * bottleneck;
  }
}

/** Trainable key/value prefixes of one attention layer: [P, kvDim] each. */
export class PrefixKV extends Module {
  get length(): number {
    return this.numVirtualTokens;
  }
  /** The prefixes as attention takes them: [P, nKV·hd] -> [B, nKV, P, hd] (learned, so not rotated). */
  keysValues(batch: number, numKeyValueHeads: number, headDim: number): { keys: tf.Tensor4D; values: tf.Tensor4D } {
    const P = this.numVirtualTokens;
    const heads = (t: tf.Tensor) => t.reshape([1, P, numKeyValueHeads, headDim]).transpose([0, 2, 1, 3]).tile([batch, 1, 1, 1]) as tf.Tensor4D;
    return { keys: heads(this.key), values: heads(this.value) };
  }
  key: tf.Variable;
  value: tf.Variable;
  constructor(readonly numVirtualTokens: number, readonly kvDim: number, seed = 0, std = 0.02) {
    super();
    const rng = new Rng(seed);
    this.key = tf.variable(tf.tensor2d(rng.normalArray(numVirtualTokens * kvDim, std), [numVirtualTokens, kvDim]), true);
    this.value = tf.variable(tf.tensor2d(rng.normalArray(numVirtualTokens * kvDim, std), [numVirtualTokens, kvDim]), true);
  }
  override ownParameters(): ParamInfo[] {
    const shape = [this.numVirtualTokens, this.kvDim];
    return [
      { name: 'key', shape, numel: shape[0] * shape[1], trainable: this.key.trainable, variable: this.key },
      { name: 'value', shape, numel: shape[0] * shape[1], trainable: this.value.trainable, variable: this.value },
    ];
  }
  protected override setOwnTrainable(t: boolean): void {
    this.key.trainable = t;
    this.value.trainable = t;
  }
  protected override disposeOwn(): void {
    this.key.dispose();
    this.value.dispose();
  }
  static parameterCount(layers: number, numVirtualTokens: number, kvDim: number): number {
    return prefixParameters(layers, numVirtualTokens, kvDim);
  }
  /** Extra FLOPs per token per layer: scores against P more keys and the weighted sum of P more values. */
  static flopsPerTokenPerLayer(numVirtualTokens: number, numHeads: number, headDim: number): number {
    return 2 * 2 * numHeads * headDim * numVirtualTokens;
  }
}
