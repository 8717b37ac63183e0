/**
 * LoRA (Hu et al. 2021) on a frozen base layer, following PEFT's `tuners/lora/layer.py`:
 *
 *   y = base(x) + scaling · B(A(dropout(x)))        A = lora_A.weight [r, in],  B = lora_B.weight [out, r]
 *   scaling = loraAlpha / r      (rsLoRA: loraAlpha / √r)
 *   ΔW = scaling · B A  [out, in];  merge: W ← W + ΔW
 *
 * B starts at zero (init `true` and 'gaussian'), so the adapted model starts exactly at the base model, and at step 0
 * the gradient reaching A is zero (it is Bᵀ times the upstream gradient): only B moves first.
 */
import * as tf from '@tensorflow/tfjs';
import { svdTopK } from '../linalg/svd.js';
import { LoraLabError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { Linear, Linear4bit, MetaLinear, kaimingUniform, linearApply, type LinearLike, type WeightSnapshot } from './linear.js';
import { checkInitLoraWeights, checkLoraAlpha, checkLoraDropout, checkLoraRank } from './loraChecks.js';
import { Module, type ParamInfo } from './module.js';

/** A merge that would write non-finite weights (a broken adapter); nothing was merged. */
export class MergeError extends LoraLabError {
  override name = 'MergeError';
}

export type InitLoraWeights = boolean | 'gaussian' | 'pissa';

export interface LoraLayerConfig {
  r: number;
  loraAlpha: number;
  loraDropout?: number;
  useRslora?: boolean;
  initLoraWeights?: InitLoraWeights;
  /** Seed for the initialisation and the dropout masks (repeatable runs). */
  seed?: number;
}

export interface LoraTrace {
  y: tf.Tensor;
  /** base(x) */
  base: tf.Tensor;
  /** A · dropout(x), [..., r] */
  xA: tf.Tensor;
  /** B · A · dropout(x), [..., out] */
  xAB: tf.Tensor;
  /** scaling · xAB */
  scaled: tf.Tensor;
}

export interface MergeReport {
  /** For a 4-bit base: the rounding error requantization introduced, measured against W + ΔW. */
  requantizationError?: { maxAbs: number; rms: number; relativeToDelta: number };
}

export function loraScaling(r: number, loraAlpha: number, useRslora = false): number {
  return useRslora ? loraAlpha / Math.sqrt(r) : loraAlpha / r;
}

/** A module holding one weight, named like nn.Linear (`lora_A.weight`). */
class WeightHolder extends Module {
  constructor(public weight: tf.Variable) {
    super();
  }
  override ownParameters(): ParamInfo[] {
    return [{ name: 'weight', shape: this.weight.shape, numel: this.weight.size, trainable: this.weight.trainable, variable: this.weight }];
  }
  protected override setOwnTrainable(t: boolean): void {
    this.weight.trainable = t;
  }
  protected override disposeOwn(): void {
    this.weight.dispose();
  }
}

export class LoraLinear extends Module implements LinearLike {
  baseLayer: Linear | Linear4bit | MetaLinear;
  readonly r: number;
  readonly loraAlpha: number;
  readonly scaling: number;
  readonly loraDropout: number;
  readonly useRslora: boolean;
  merged = false;
  private original: WeightSnapshot | null = null;
  private readonly aHolder: WeightHolder;
  private readonly bHolder: WeightHolder;
  /** Seeds the dropout masks (seed, counter); trainers set it per step so that a resumed run draws the same masks. */
  dropoutCounter = 0;
  private readonly seed: number;

  constructor(base: Linear | Linear4bit | MetaLinear, cfg: LoraLayerConfig) {
    super();
    // the same checks, and messages, as LoraConfig's
    checkLoraRank(cfg.r);
    checkLoraAlpha(cfg.loraAlpha);
    const dropout = cfg.loraDropout ?? 0;
    checkLoraDropout(dropout);
    checkInitLoraWeights(cfg.initLoraWeights ?? true);
    this.baseLayer = base;
    this.r = cfg.r;
    this.loraAlpha = cfg.loraAlpha;
    this.useRslora = cfg.useRslora ?? false;
    this.scaling = loraScaling(cfg.r, cfg.loraAlpha, this.useRslora);
    this.loraDropout = dropout;
    this.seed = cfg.seed ?? 0;
    base.setTrainable(false);
    this.register('base_layer', base);
    const { a, b } = this.initWeights(cfg.initLoraWeights ?? true);
    this.aHolder = this.register('lora_A', new WeightHolder(tf.variable(tf.tensor2d(a, [this.r, this.inFeatures]), true)));
    this.bHolder = this.register('lora_B', new WeightHolder(tf.variable(tf.tensor2d(b, [this.outFeatures, this.r]), true)));
  }

  get inFeatures(): number {
    return this.baseLayer.inFeatures;
  }
  get outFeatures(): number {
    return this.baseLayer.outFeatures;
  }
  /** lora_A.weight [r, in] */
  get loraA(): tf.Variable {
    return this.aHolder.weight;
  }
  /** lora_B.weight [out, r] */
  get loraB(): tf.Variable {
    return this.bHolder.weight;
  }

  private initWeights(init: InitLoraWeights): { a: Float32Array; b: Float32Array } {
    const rng = new Rng(this.seed);
    const [inF, out, r] = [this.inFeatures, this.outFeatures, this.r];
    const uniform = (rows: number, fanIn: number) => kaimingUniform(rows, fanIn, () => rng.next());
    if (init === true) return { a: uniform(r, inF), b: new Float32Array(out * r) };
    if (init === false) return { a: uniform(r, inF), b: uniform(out, r) };
    if (init === 'gaussian') return { a: rng.normalArray(r * inF, 1 / r), b: new Float32Array(out * r) };
    return this.pissaInit(); // 'pissa': the constructor refused anything else
  }

  /**
   * PiSSA (Meng et al. 2024): W = U S Vᵀ; the top-r part goes to the adapter, the rest stays in the base.
   *   A = diag(√(S_r/scaling)) Vᵀ_r,  B = U_r diag(√(S_r/scaling)),  W_res = W − scaling · B A
   * so that base + adapter equals W at the start. A 4-bit base is dequantized, reduced and requantized.
   */
  private pissaInit(): { a: Float32Array; b: Float32Array } {
    const [inF, out, r] = [this.inFeatures, this.outFeatures, this.r];
    const w = this.baseLayer.denseWeight();
    const svd = svdTopK(w, out, inF, r, { seed: this.seed });
    const a = new Float32Array(r * inF);
    const b = new Float32Array(out * r);
    for (let k = 0; k < svd.k; k++) {
      const s = Math.sqrt(svd.S[k] / this.scaling);
      for (let j = 0; j < inF; j++) a[k * inF + j] = s * svd.Vt[k * inF + j];
      for (let i = 0; i < out; i++) b[i * r + k] = svd.U[i * svd.k + k] * s;
    }
    const residual = new Float32Array(w.length);
    for (let i = 0; i < out; i++) {
      for (let j = 0; j < inF; j++) {
        let d = 0;
        for (let k = 0; k < r; k++) d += b[i * r + k] * a[k * inF + j];
        residual[i * inF + j] = w[i * inF + j] - this.scaling * d;
      }
    }
    this.baseLayer.setWeight(residual);
    return { a, b };
  }

  /** Dropout masks of step s are drawn from (seed, s · 10007 + k), whatever ran before. */
  override beforeStep(step: number): void {
    this.dropoutCounter = step * 10_007;
  }

  private dropout(x: tf.Tensor): tf.Tensor {
    if (!this.training || this.loraDropout === 0) return x;
    return tf.dropout(x, this.loraDropout, undefined, this.seed * 1_000_003 + this.dropoutCounter++);
  }

  forward(x: tf.Tensor): tf.Tensor;
  forward(x: tf.Tensor, opts: { trace: true }): LoraTrace;
  forward(x: tf.Tensor, opts: { trace?: boolean } = {}): tf.Tensor | LoraTrace {
    if (!opts.trace) return tf.tidy(() => this.compute(x).y);
    return this.compute(x);
  }

  private compute(x: tf.Tensor): LoraTrace {
    const base = this.baseLayer.forward(x);
    if (this.merged) {
      return { y: base, base, xA: tf.zeros([...x.shape.slice(0, -1), this.r]), xAB: tf.zerosLike(base), scaled: tf.zerosLike(base) };
    }
    const xA = linearApply(this.dropout(x), this.loraA as tf.Tensor2D);
    const xAB = linearApply(xA, this.loraB as tf.Tensor2D);
    const scaled = xAB.mul(this.scaling);
    return { y: base.add(scaled), base, xA, xAB, scaled };
  }

  /** ΔW = scaling · B A, [out, in] (float32). */
  getDeltaWeight(): Float32Array {
    // read outside tidy: tidy walks whatever its function returns, element by element for a typed array
    const delta = tf.tidy(() => tf.matMul(this.loraB, this.loraA).mul(this.scaling));
    const values = delta.dataSync() as Float32Array;
    delta.dispose();
    return values;
  }

  /** The weight this layer computes with: base (dequantized) + ΔW, or the merged base. */
  denseWeight(): Float32Array {
    const w = this.baseLayer.denseWeight();
    if (this.merged) return w;
    const d = this.getDeltaWeight();
    for (let i = 0; i < w.length; i++) w[i] += d[i];
    return w;
  }

  /**
   * W ← W + ΔW. With `safeMerge`, refuses (and leaves the layer untouched) if the result is not finite. The original
   * base is kept so that `unmerge()` restores it bit for bit (PEFT subtracts ΔW again, which can leave rounding
   * residue); a 4-bit base is dequantized, added to and requantized, and the error that costs is reported.
   */
  merge(opts: { safeMerge?: boolean } = {}): MergeReport {
    if (this.merged) return {};
    const base = this.baseLayer;
    const original = base.snapshot();
    const delta = this.getDeltaWeight();
    const w = original.values;
    const merged = new Float32Array(w.length);
    for (let i = 0; i < w.length; i++) merged[i] = w[i] + delta[i];
    if (opts.safeMerge && !merged.every(Number.isFinite)) {
      // PEFT's words (tuners/lora/layer.py, safe_merge)
      throw new MergeError('NaNs detected in the merged weights. The adapter seems to be broken');
    }
    const report: MergeReport = {};
    this.original = original;
    base.setWeight(merged);
    if (original.requantizes) {
      const back = base.snapshot().values;
      let maxAbs = 0;
      let sq = 0;
      let dsq = 0;
      for (let i = 0; i < merged.length; i++) {
        const e = back[i] - merged[i];
        maxAbs = Math.max(maxAbs, Math.abs(e));
        sq += e * e;
        dsq += delta[i] * delta[i];
      }
      report.requantizationError = { maxAbs, rms: Math.sqrt(sq / merged.length), relativeToDelta: dsq > 0 ? Math.sqrt(sq / dsq) : Infinity };
    }
    this.merged = true;
    return report;
  }

  /** Restore the base exactly as it was before `merge()`. */
  unmerge(): void {
    if (!this.merged || !this.original) return;
    this.original.restore();
    this.original = null;
    this.merged = false;
  }

  /** Merge and return the plain base layer (for mergeAndUnload); the kept original is dropped. */
  mergeAndUnload(opts: { safeMerge?: boolean } = {}): Linear | Linear4bit | MetaLinear {
    this.merge(opts);
    this.original = null;
    this.aHolder.dispose();
    this.bHolder.dispose();
    return this.baseLayer;
  }
}
