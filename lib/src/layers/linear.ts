/**
 * Base linear layers, weight [out, in] as in torch.nn.Linear: y = x Wᵀ + b.
 *
 * - `Linear`: dense weight in a tf.Variable. dtype 'bfloat16' means the values are kept rounded to bf16 (TF.js has no
 *   bf16 tensors, so storage is float32 holding bf16 values); 'float32' is plain float32.
 * - `Linear4bit`: bitsandbytes NF4/FP4 storage only. Forward dequantizes to the compute dtype (bf16 values), multiplies
 *   with float32 accumulation and frees the dense copy; backward recomputes it through a custom gradient, and the base
 *   weight never gets a gradient.
 */
import * as tf from '@tensorflow/tfjs';
import { roundToBf16 } from '../quant/bf16.js';
import { transpose2d } from '../util/transpose.js';
import { dequantize4bit, numel, quantize4bit, type QuantState4bit } from '../quant/quantize4bit.js';
import type { FloatDType } from '../quant/blockwise4.js';
import type { QuantType } from '../quant/codebooks.js';
import { Module, type ParamInfo } from './module.js';

export type ComputeDtype = 'float32' | 'bfloat16';

/**
 * y = x Wᵀ (+ b) for x [..., in] and W [out, in]. W is transposed with a TF.js op first (cheap next to the product):
 * the wasm backend's x·Bᵀ kernel is about ten times slower than x·B.
 */
export function linearApply(x: tf.Tensor, w: tf.Tensor2D, bias?: tf.Tensor | null): tf.Tensor {
  return tf.tidy(() => linearApplyT(x, w.transpose(), bias));
}

/** y = x · wT (+ b) for x [..., in] and wT = Wᵀ [in, out]. */
export function linearApplyT(x: tf.Tensor, wT: tf.Tensor2D, bias?: tf.Tensor | null): tf.Tensor {
  return tf.tidy(() => {
    const [inF, out] = wT.shape;
    const lead = x.shape.slice(0, -1);
    let y: tf.Tensor = tf.matMul(x.reshape([-1, inF]) as tf.Tensor2D, wT);
    if (bias) y = y.add(bias);
    return y.reshape([...lead, out]);
  });
}

/** Round a tensor's values to bf16 (through the CPU: TF.js has no bit operations on floats). */
export function roundTensor(x: tf.Tensor): tf.Tensor {
  return tf.tensor(roundToBf16(x.dataSync() as Float32Array), x.shape, 'float32');
}

export interface LinearLike {
  readonly inFeatures: number;
  readonly outFeatures: number;
  forward(x: tf.Tensor): tf.Tensor;
  /** The dense weight as float32 values [out, in] (dequantized for 4-bit). */
  denseWeight(): Float32Array;
}

export class Linear extends Module implements LinearLike {
  /** Wᵀ, [in, out]: the layout the backend multiplies fastest (see linearApply). */
  weightT: tf.Variable;
  bias: tf.Variable | null;
  readonly dtype: ComputeDtype;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: { weight?: Float32Array; bias?: Float32Array | null; dtype?: ComputeDtype; trainable?: boolean } = {},
  ) {
    super();
    this.dtype = opts.dtype ?? 'float32';
    const w = opts.weight ?? kaimingUniform(outFeatures, inFeatures);
    if (w.length !== inFeatures * outFeatures) throw new Error(`Linear: weight has ${w.length} values, [${outFeatures}, ${inFeatures}] needs ${inFeatures * outFeatures}`);
    this.weightT = tf.variable(tf.tensor2d(this.layoutT(w), [inFeatures, outFeatures]), opts.trainable ?? true);
    this.bias = opts.bias ? tf.variable(tf.tensor1d(opts.bias), opts.trainable ?? true) : null;
  }
  /** [out, in] values -> Wᵀ values, rounded to bf16 for a bf16 layer. */
  private layoutT(w: Float32Array): Float32Array {
    const t = transpose2d(w, this.outFeatures, this.inFeatures);
    return this.dtype === 'bfloat16' ? roundToBf16(t, { inPlace: true }) : t;
  }
  forward(x: tf.Tensor): tf.Tensor {
    return linearApplyT(x, this.weightT as tf.Tensor2D, this.bias);
  }
  /** W as a new [out, in] tensor. */
  get weight(): tf.Tensor2D {
    return this.weightT.transpose();
  }
  /** W values, [out, in] row-major. */
  denseWeight(): Float32Array {
    return transpose2d(this.weightT.dataSync() as Float32Array, this.inFeatures, this.outFeatures);
  }
  /** Replace W ([out, in] values; rounded to bf16 when dtype is bfloat16). */
  setWeight(values: Float32Array): void {
    const t = tf.tensor2d(this.layoutT(values), [this.inFeatures, this.outFeatures]);
    this.weightT.assign(t);
    t.dispose();
  }
  override ownParameters(): ParamInfo[] {
    const ps: ParamInfo[] = [{ name: 'weight', shape: [this.outFeatures, this.inFeatures], numel: this.inFeatures * this.outFeatures, trainable: this.weightT.trainable, variable: this.weightT }];
    if (this.bias) ps.push({ name: 'bias', shape: [this.outFeatures], numel: this.outFeatures, trainable: this.bias.trainable, variable: this.bias });
    return ps;
  }
  protected override setOwnTrainable(t: boolean): void {
    this.weightT.trainable = t;
    if (this.bias) this.bias.trainable = t;
  }
  protected override disposeOwn(): void {
    this.weightT.dispose();
    this.bias?.dispose();
  }
}

/**
 * A linear layer with a shape and no weights ("meta" device in PyTorch terms): lets LoRA Lab build a whole
 * Gemma-2B- or 7B-shaped module tree to count parameters exactly without allocating them.
 */
export class MetaLinear extends Module implements LinearLike {
  constructor(readonly inFeatures: number, readonly outFeatures: number, readonly hasBias = false) {
    super();
  }
  forward(): tf.Tensor {
    throw new Error('MetaLinear has no weights: it only describes shapes');
  }
  denseWeight(): Float32Array {
    throw new Error('MetaLinear has no weights: it only describes shapes');
  }
  override ownParameters(): ParamInfo[] {
    const ps: ParamInfo[] = [{ name: 'weight', shape: [this.outFeatures, this.inFeatures], numel: this.inFeatures * this.outFeatures, trainable: this.trainableFlag }];
    if (this.hasBias) ps.push({ name: 'bias', shape: [this.outFeatures], numel: this.outFeatures, trainable: this.trainableFlag });
    return ps;
  }
  private trainableFlag = false;
  protected override setOwnTrainable(t: boolean): void {
    this.trainableFlag = t;
  }
}

/** nn.Linear's default init, kaiming_uniform(a=√5): U(-1/√in, 1/√in). */
export function kaimingUniform(out: number, inF: number, rand: () => number = Math.random): Float32Array {
  const bound = 1 / Math.sqrt(inF);
  return Float32Array.from({ length: out * inF }, () => (2 * rand() - 1) * bound);
}

export interface Linear4bitOptions {
  quantType?: QuantType;
  blocksize?: number;
  doubleQuant?: boolean;
  /** dtype the weight is dequantized to and the input rounded to (bnb_4bit_compute_dtype). Default bfloat16. */
  computeDtype?: ComputeDtype;
  bias?: Float32Array | null;
}

export class Linear4bit extends Module implements LinearLike {
  readonly inFeatures: number;
  readonly outFeatures: number;
  state: QuantState4bit;
  bias: tf.Tensor1D | null;
  readonly computeDtype: ComputeDtype;

  constructor(state: QuantState4bit, opts: { computeDtype?: ComputeDtype; bias?: Float32Array | null } = {}) {
    super();
    if (state.shape.length !== 2) throw new Error(`Linear4bit: quant state shape [${state.shape.join(', ')}] is not [out, in]`);
    this.state = state;
    [this.outFeatures, this.inFeatures] = state.shape;
    this.computeDtype = opts.computeDtype ?? 'bfloat16';
    this.bias = opts.bias ? tf.tensor1d(opts.bias) : null;
  }

  /** Quantize a dense [out, in] weight (values are first rounded to the compute dtype, as a bf16 checkpoint would be). */
  static fromWeight(weight: Float32Array, outFeatures: number, inFeatures: number, opts: Linear4bitOptions = {}): Linear4bit {
    const computeDtype = opts.computeDtype ?? 'bfloat16';
    const values = computeDtype === 'bfloat16' ? roundToBf16(weight) : weight;
    const { state } = quantize4bit(values, {
      quantType: opts.quantType ?? 'nf4',
      blocksize: opts.blocksize ?? 64,
      doubleQuant: opts.doubleQuant ?? false,
      shape: [outFeatures, inFeatures],
      dtype: computeDtype as FloatDType,
    });
    return new Linear4bit(state, { computeDtype, bias: opts.bias });
  }

  /** Dequantized weight values in the compute dtype (a fresh array each call; nothing is cached). */
  denseWeight(): Float32Array {
    return dequantize4bit(this.state, { dtype: this.computeDtype });
  }

  forward(x: tf.Tensor): tf.Tensor {
    const [out, inF] = [this.outFeatures, this.inFeatures];
    const dense = () => tf.tensor2d(this.denseWeight(), [out, inF]);
    const bf16 = this.computeDtype === 'bfloat16';
    // y = x Wᵀ with W recomputed in backward: dL/dx = dL/dy · W. No gradient flows to the 4-bit weight.
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const xIn = args[0] as tf.Tensor;
      const lead = xIn.shape.slice(0, -1);
      const w = tf.tensor2d(transpose2d(this.denseWeight(), out, inF), [inF, out]); // Wᵀ, the fast layout
      const xc = bf16 ? roundTensor(xIn) : xIn;
      const y = tf.matMul(xc.reshape([-1, inF]) as tf.Tensor2D, w).reshape([...lead, out]);
      w.dispose();
      if (bf16) xc.dispose();
      return {
        value: y,
        gradFunc: (dy: tf.Tensor) => {
          const w2 = dense();
          const dx = tf.matMul(dy.reshape([-1, out]) as tf.Tensor2D, w2).reshape([...lead, inF]);
          w2.dispose();
          return dx;
        },
      };
    });
    return tf.tidy(() => {
      const y = op(x) as tf.Tensor;
      return this.bias ? y.add(this.bias) : y;
    });
  }

  /** Bytes held by the quantized weight and its constants. */
  storageBytes(): number {
    const s = this.state;
    const dq = s.doubleQuant;
    return s.packed.byteLength + (s.absmax?.byteLength ?? 0) + s.code.byteLength + (dq ? dq.qabsmax.byteLength + dq.nestedAbsmax.byteLength + dq.nestedCode.byteLength + 4 : 0);
  }

  override ownParameters(): ParamInfo[] {
    const ps: ParamInfo[] = [{ name: 'weight', shape: [...this.state.shape], numel: numel(this.state.shape), trainable: false }];
    if (this.bias) ps.push({ name: 'bias', shape: [this.outFeatures], numel: this.outFeatures, trainable: false });
    return ps;
  }
  protected override disposeOwn(): void {
    this.bias?.dispose();
  }
}
