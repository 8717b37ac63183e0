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
import { roundToBf16 } from '../numerics/bf16.js';
import { roundTensorToBf16 } from '../backend/bf16.js';
import { nativeKernelsActive } from '../backend/nativeKernels.js';
import { dequantizeToTensor, disposeResident, recoveredAbsmax, residentQuantState, rowChunks } from '../backend/dequantize.js';
import type { ResidentPacked4bit } from '../quant/kernels/webgpu.js';
import { dequantize4bit, quantize4bit, quantize4bitStreaming, stateBytes, type QuantizeOptions, type QuantState4bit } from '../quant/quantize4bit.js';
import { numel } from '../numerics/dtype.js';
import { BNB_4BIT_DEFAULTS, bnb4bitOptions, type Bnb4bitOptions } from '../quant/defaults.js';
import { Module, type ParamInfo } from './module.js';
import { DENSE_PIECE_ELEMENTS } from './pieces.js';
import { ArgumentError, ShapeError, shapeText } from '../util/errors.js';

export type ComputeDtype = 'float32' | 'bfloat16';

/**
 * x · Wᵀ for x [N, in] and W [out, in]. With the native BLAS matmul (backend/nativeKernels.ts) every transpose flag is
 * as fast as none, so it is one product; on TF.js's own kernels it is computed as (W · xᵀ)ᵀ, because the wasm backend
 * multiplies fastest when nothing is flagged transposed (its x·Bᵀ path is about ten times slower).
 */
export function productXWt(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  return nativeKernelsActive() ? tf.matMul(x, w, false, true) : tf.tidy(() => tf.matMul(w, x.transpose()).transpose());
}

/** dyᵀ · x, the weight gradient of y = x Wᵀ, with the transpose folded into the product where that is fast. */
function productDyTx(dy: tf.Tensor2D, x: tf.Tensor2D): tf.Tensor2D {
  return nativeKernelsActive() ? tf.matMul(dy, x, true, false) : tf.tidy(() => tf.matMul(dy.transpose(), x));
}

/**
 * y = x Wᵀ for x [N, in] and W [out, in] (see productXWt). The gradient: dx = dy · W and, only when asked,
 * dW = dyᵀ · x — so a frozen weight costs no weight-gradient product at all.
 */
export function matmulXWt(x2: tf.Tensor2D, w: tf.Tensor2D, opts: { weightGrad: boolean }): tf.Tensor2D {
  if (!opts.weightGrad) {
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const xIn = args[0] as tf.Tensor2D;
      return {
        value: productXWt(xIn, w),
        gradFunc: (dy: tf.Tensor) => tf.matMul(dy as tf.Tensor2D, w),
      };
    });
    return op(x2) as tf.Tensor2D;
  }
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xIn, wIn, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    save([xIn, wIn]);
    return {
      value: productXWt(xIn, wIn),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
        return [tf.matMul(dy as tf.Tensor2D, ws), productDyTx(dy as tf.Tensor2D, xs)];
      },
    };
  });
  return op(x2, w) as tf.Tensor2D;
}

/** y = x Wᵀ (+ b) for x [..., in] and W [out, in] (a variable gets its gradient when it is trainable). */
export function linearApply(x: tf.Tensor, w: tf.Tensor2D, bias?: tf.Tensor | null): tf.Tensor {
  return tf.tidy(() => {
    const [out, inF] = w.shape;
    const lead = x.shape.slice(0, -1);
    const trainable = w instanceof tf.Variable && w.trainable;
    let y: tf.Tensor = matmulXWt(x.reshape([-1, inF]) as tf.Tensor2D, w, { weightGrad: trainable });
    if (bias) y = y.add(bias);
    return y.reshape([...lead, out]);
  });
}


/** x must be [..., in_features]; checked here so that the message names the layer, not TF.js's reshape or matMul. */
function checkInput(x: tf.Tensor, inFeatures: number, layer: string): void {
  if (x.rank === 0 || x.shape[x.rank - 1] !== inFeatures) throw new ShapeError(`has shape ${shapeText(x.shape)}`, { file: layer, field: 'x', expected: `[..., ${inFeatures}] (in_features ${inFeatures})` });
}

export interface LinearLike {
  readonly inFeatures: number;
  readonly outFeatures: number;
  forward(x: tf.Tensor): tf.Tensor;
  /** The dense weight as float32 values [out, in] (dequantized for 4-bit). */
  denseWeight(): Float32Array;
}

/** A layer that stores a weight LoRA can be put on (Linear, Linear4bit, MetaLinear): LoRA treats them all alike. */
export interface BaseLinear extends LinearLike {
  /** Replace W by these [out, in] values, stored as this layer stores its weight (rounded to bf16, or requantized). */
  setWeight(values: Float32Array): void;
  /** The stored weight as it is now, to build on (a merge) and to put back bit for bit (an unmerge). */
  snapshot(): WeightSnapshot;
}

/** What a merge needs from a base layer, whatever it stores. */
export interface WeightSnapshot {
  /** W as float32 values [out, in] (a 4-bit weight dequantized to float32, not to its compute dtype). */
  values: Float32Array;
  /** Storing values goes through a 4-bit code, so setWeight(values) loses precision the merge should report. */
  requantizes: boolean;
  /** Put this stored weight back exactly. */
  restore(): void;
}

export class Linear extends Module implements BaseLinear {
  weight: tf.Variable;
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
    if (w.length !== inFeatures * outFeatures) throw new ShapeError(`has ${w.length} values`, { file: 'Linear', field: 'weight', expected: `${inFeatures * outFeatures} values for [out, in] = [${outFeatures}, ${inFeatures}]` });
    const values = this.dtype === 'bfloat16' ? roundToBf16(w) : w;
    this.weight = tf.variable(tf.tensor2d(values, [outFeatures, inFeatures]), opts.trainable ?? true);
    this.bias = opts.bias ? tf.variable(tf.tensor1d(opts.bias), opts.trainable ?? true) : null;
  }
  forward(x: tf.Tensor): tf.Tensor {
    checkInput(x, this.inFeatures, 'Linear');
    return linearApply(x, this.weight as tf.Tensor2D, this.bias);
  }
  /** W values, [out, in] row-major. */
  denseWeight(): Float32Array {
    return this.weight.dataSync() as Float32Array;
  }
  /** Replace W ([out, in] values; rounded to bf16 when dtype is bfloat16). */
  setWeight(values: Float32Array): void {
    const v = this.dtype === 'bfloat16' ? roundToBf16(values) : values;
    const t = tf.tensor2d(v, [this.outFeatures, this.inFeatures]);
    this.weight.assign(t);
    t.dispose();
  }
  snapshot(): WeightSnapshot {
    const values = this.denseWeight();
    return { values, requantizes: false, restore: () => this.setWeight(values) };
  }
  override ownParameters(): ParamInfo[] {
    const ps: ParamInfo[] = [{ name: 'weight', shape: [this.outFeatures, this.inFeatures], numel: this.inFeatures * this.outFeatures, trainable: this.weight.trainable, variable: this.weight }];
    if (this.bias) ps.push({ name: 'bias', shape: [this.outFeatures], numel: this.outFeatures, trainable: this.bias.trainable, variable: this.bias });
    return ps;
  }
  protected override setOwnTrainable(t: boolean): void {
    this.weight.trainable = t;
    if (this.bias) this.bias.trainable = t;
  }
  protected override disposeOwn(): void {
    this.weight.dispose();
    this.bias?.dispose();
  }
}

const noWeights = (what: string): ArgumentError => new ArgumentError(what, { file: 'MetaLinear' });

/**
 * A linear layer with a shape and no weights ("meta" device in PyTorch terms): lets LoRA Lab build a whole
 * Gemma-2B- or 7B-shaped module tree to count parameters exactly without allocating them.
 */
export class MetaLinear extends Module implements BaseLinear {
  constructor(readonly inFeatures: number, readonly outFeatures: number, readonly hasBias = false) {
    super();
  }
  forward(): tf.Tensor {
    throw noWeights('has no weights: it only describes shapes');
  }
  denseWeight(): Float32Array {
    throw noWeights('has no weights: it only describes shapes');
  }
  setWeight(): void {
    throw noWeights('is a base with no weights to change');
  }
  snapshot(): WeightSnapshot {
    throw noWeights('cannot be merged into (it has no weights)');
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

/** Linear4bit's quantization options (defaults BNB_4BIT_DEFAULTS); its compute dtype is float32 or bfloat16. */
export interface Linear4bitOptions extends Partial<Omit<Bnb4bitOptions, 'computeDtype'>> {
  /** dtype the weight is dequantized to and the input rounded to (bnb_4bit_compute_dtype). Default bfloat16. */
  computeDtype?: ComputeDtype;
  bias?: Float32Array | null;
}

/** quantize4bit's options for a Linear4bit, stored in the compute dtype. */
function quantizeOptions(outFeatures: number, inFeatures: number, opts: Linear4bitOptions): QuantizeOptions {
  const o = bnb4bitOptions({ ...opts, computeDtype: opts.computeDtype });
  return { quantType: o.quantType, blocksize: o.blocksize, doubleQuant: o.doubleQuant, shape: [outFeatures, inFeatures], dtype: o.computeDtype };
}

export class Linear4bit extends Module implements BaseLinear {
  readonly inFeatures: number;
  readonly outFeatures: number;
  private quantState: QuantState4bit;
  /** The packed weight on the GPU (webgpu backend only), uploaded at the first forward and kept until `state` changes. */
  private resident: { backend: tf.KernelBackend; weight: ResidentPacked4bit } | null = null;
  bias: tf.Tensor1D | null;
  readonly computeDtype: ComputeDtype;

  constructor(state: QuantState4bit, opts: { computeDtype?: ComputeDtype; bias?: Float32Array | null } = {}) {
    super();
    if (state.shape.length !== 2) throw new ShapeError(`is ${shapeText(state.shape)}`, { file: 'Linear4bit', field: 'state.shape', expected: '[out, in]' });
    this.quantState = state;
    [this.outFeatures, this.inFeatures] = state.shape;
    this.computeDtype = opts.computeDtype ?? BNB_4BIT_DEFAULTS.computeDtype;
    this.bias = opts.bias ? tf.tensor1d(opts.bias) : null;
  }

  /** Quantize a dense [out, in] weight (values are first rounded to the compute dtype, as a bf16 checkpoint would be). */
  static fromWeight(weight: Float32Array, outFeatures: number, inFeatures: number, opts: Linear4bitOptions = {}): Linear4bit {
    const computeDtype = opts.computeDtype ?? BNB_4BIT_DEFAULTS.computeDtype;
    const values = computeDtype === 'bfloat16' ? roundToBf16(weight) : weight;
    const { state } = quantize4bit(values, quantizeOptions(outFeatures, inFeatures, opts));
    return new Linear4bit(state, { computeDtype, bias: opts.bias });
  }

  /**
   * The same layer from a weight read piece by piece — `read(start, end)` returns elements [start, end) of the
   * flattened [out, in] weight in a fresh array, which is rounded to the compute dtype in place — so that a loader
   * never holds the whole weight in float32.
   */
  static fromPieces(outFeatures: number, inFeatures: number, read: (start: number, end: number) => Float32Array, opts: Linear4bitOptions = {}): Linear4bit {
    const computeDtype = opts.computeDtype ?? BNB_4BIT_DEFAULTS.computeDtype;
    const state = quantize4bitStreaming(outFeatures * inFeatures, (s, e) => {
      const x = read(s, e);
      return computeDtype === 'bfloat16' ? roundToBf16(x, { inPlace: true }) : x;
    }, quantizeOptions(outFeatures, inFeatures, opts));
    return new Linear4bit(state, { computeDtype, bias: opts.bias });
  }

  /** The 4-bit storage. Replacing it (a merge, PiSSA's residual) drops the copy resident on the GPU. */
  get state(): QuantState4bit {
    return this.quantState;
  }
  set state(s: QuantState4bit) {
    this.releaseResident();
    this.quantState = s;
  }

  /**
   * On the webgpu backend, the packed weight as GPU tensors, uploaded once (4.5 bits per value); null elsewhere. Made
   * outside every tidy scope, so the forward pass that first asks for it does not free it.
   */
  residentWeight(): ResidentPacked4bit | null {
    const backend = tf.backend();
    if (this.resident?.backend === backend) return this.resident.weight;
    this.releaseResident();
    const weight = residentQuantState(this.quantState);
    if (weight) this.resident = { backend, weight };
    return weight;
  }

  private releaseResident(): void {
    disposeResident(this.resident?.weight ?? null);
    this.resident = null;
  }

  /** Dequantized weight values in the compute dtype (a fresh array each call; nothing is cached). */
  denseWeight(): Float32Array {
    return dequantize4bit(this.state, { dtype: this.computeDtype });
  }

  /** Requantize W from [out, in] values with this layer's own options (rounded first to the state's dtype). */
  setWeight(values: Float32Array): void {
    const s = this.state;
    const v = s.dtype === 'bfloat16' ? roundToBf16(values) : values;
    this.state = quantize4bit(v, { quantType: s.quantType, blocksize: s.blocksize, doubleQuant: !!s.doubleQuant, shape: s.shape, dtype: s.dtype }).state;
  }

  snapshot(): WeightSnapshot {
    const state = this.state;
    return { values: dequantize4bit(state, { dtype: 'float32' }), requantizes: true, restore: () => { this.state = state; } };
  }

  /**
   * The largest piece of the dense weight that exists at once, in float32 values (4M = 16 MB). A bigger weight is
   * dequantized and multiplied in row chunks, so at Gemma-2B scale no layer ever holds its whole 134 MB dense copy.
   */
  static maxDenseElements = DENSE_PIECE_ELEMENTS;

  forward(x: tf.Tensor): tf.Tensor {
    checkInput(x, this.inFeatures, 'Linear4bit');
    const [out, inF] = [this.outFeatures, this.inFeatures];
    const state = this.state;
    const dtype = this.computeDtype;
    const bf16 = dtype === 'bfloat16';
    const chunks = rowChunks(out, inF, state.blocksize, Linear4bit.maxDenseElements);
    // W's rows [a, b), dequantized straight into a tensor (on the wasm backend: in its heap, by the SIMD kernel; on
    // webgpu: on the GPU, from the packed weight resident there)
    const resident = this.residentWeight();
    const absmax = resident ? undefined : recoveredAbsmax(state);
    const rows = (a: number, b: number) => dequantizeToTensor(state, dtype, [a, b], absmax, resident);
    // y = x Wᵀ piece by piece: y[:, rows_k] = x · W[rows_k]ᵀ (productXWt).
    // Backward recomputes W: dL/dx = Σ_k dL/dy[:, rows_k] · W[rows_k]. No gradient flows to the 4-bit weight.
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const xIn = args[0] as tf.Tensor;
      const lead = xIn.shape.slice(0, -1);
      const y = tf.tidy(() => {
        const x2 = (bf16 ? roundTensorToBf16(xIn) : xIn).reshape([-1, inF]) as tf.Tensor2D;
        const parts = chunks.map(([a, b]) => {
          const w = rows(a, b);
          const p = productXWt(x2, w);
          w.dispose();
          return p;
        });
        return (parts.length === 1 ? parts[0] : tf.concat(parts, 1)).reshape([...lead, out]);
      });
      return {
        value: y,
        gradFunc: (dy: tf.Tensor) => tf.tidy(() => {
          const dy2 = dy.reshape([-1, out]) as tf.Tensor2D;
          let dx: tf.Tensor | null = null;
          for (const [a, b] of chunks) {
            const w = rows(a, b);
            const part = tf.matMul(chunks.length === 1 ? dy2 : dy2.slice([0, a], [-1, b - a]), w);
            w.dispose();
            const sum: tf.Tensor = dx ? tf.add(dx, part) : part;
            if (dx) tf.dispose([dx, part]);
            dx = sum;
          }
          return dx!.reshape([...lead, inF]);
        }),
      };
    });
    return tf.tidy(() => {
      const y = op(x) as tf.Tensor;
      return this.bias ? y.add(this.bias) : y;
    });
  }

  /** Bytes held by the quantized weight and its constants. */
  storageBytes(): number {
    return stateBytes(this.state).total;
  }

  override ownParameters(): ParamInfo[] {
    const ps: ParamInfo[] = [{ name: 'weight', shape: [...this.state.shape], numel: numel(this.state.shape), trainable: false }];
    if (this.bias) ps.push({ name: 'bias', shape: [this.outFeatures], numel: this.outFeatures, trainable: false });
    return ps;
  }
  protected override disposeOwn(): void {
    this.bias?.dispose();
    this.releaseResident();
  }
}
