/**
 * AdamW (Loshchilov & Hutter 2019), decoupled weight decay, as torch.optim.AdamW:
 *   θ ← θ − lr·λ·θ;   m ← β1 m + (1−β1) g;   v ← β2 v + (1−β2) g²
 *   θ ← θ − lr · (m / (1−β1^t)) / (√(v / (1−β2^t)) + ε)
 * with gradient clipping by global norm before the step, and learning-rate schedules with linear warmup.
 */
import * as tf from '@tensorflow/tfjs';
import { nativeAdamW, nativeSumSquares } from '../backend/nativeOps.js';
import { ArgumentError, ShapeError } from '../util/errors.js';

export interface AdamWOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

export interface OptimizerState {
  step: number;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  t = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  constructor(private readonly params: Map<string, tf.Variable>, opts: Omit<AdamWOptions, 'lr'> = {}) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    for (const [name, p] of params) {
      this.m.set(name, tf.variable(tf.zerosLike(p), false));
      this.v.set(name, tf.variable(tf.zerosLike(p), false));
    }
  }

  /**
   * One update with gradients keyed like the params, each multiplied by `gradScale` first (the clip's scale; 1: not
   * at all). With `apply` (a boolean scalar tensor, for a step that never reads its values back to the CPU),
   * parameters and moments keep their old values where it is false; the caller then calls `undoStepCount` once it has
   * read the flag, so that the bias corrections stay where they were. Where the native kernels are on, the whole
   * update is one native call (backend/nativeOps.ts) with the same float32 operations in the same order.
   */
  step(grads: Map<string, tf.Tensor>, lr: number, apply?: tf.Scalar, gradScale = 1): void {
    this.t++;
    const bc1 = 1 - this.beta1 ** this.t;
    const bc2 = 1 - this.beta2 ** this.t;
    if (!apply && this.nativeStep(grads, { lr, beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: this.weightDecay, bc1, bc2, gradScale })) return;
    // x ← where(apply, new, x): selects, so that an applied step gives the same bits as the unguarded one
    const set = apply ? (x: tf.Variable, next: tf.Tensor) => x.assign(tf.where(apply.broadcastTo(x.shape), next, x)) : (x: tf.Variable, next: tf.Tensor) => x.assign(next);
    tf.tidy(() => {
      for (const [name, p] of this.params) {
        const g0 = grads.get(name);
        if (!g0) continue;
        const g = gradScale === 1 ? g0 : g0.mul(gradScale);
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        const m2 = m.mul(this.beta1).add(g.mul(1 - this.beta1));
        const v2 = v.mul(this.beta2).add(g.square().mul(1 - this.beta2));
        const update = m2.div(bc1).div(v2.div(bc2).sqrt().add(this.eps));
        const decayed = this.weightDecay ? p.mul(1 - lr * this.weightDecay) : p;
        set(m, m2);
        set(v, v2);
        set(p, decayed.sub(update.mul(lr)));
      }
    });
  }

  private nativeStep(grads: Map<string, tf.Tensor>, c: Parameters<typeof nativeAdamW>[1]): boolean {
    const names = [...this.params.keys()].filter((n) => grads.has(n));
    const fresh = nativeAdamW(names.map((n) => ({ param: this.params.get(n)!, grad: grads.get(n)!, m: this.m.get(n)!, v: this.v.get(n)! })), c);
    if (!fresh) return false;
    names.forEach((n, i) => {
      this.params.get(n)!.assign(fresh[i]);
      fresh[i].dispose();
    });
    return true;
  }

  /** Take back the step count of a guarded `step` whose `apply` flag turned out false. */
  undoStepCount(): void {
    this.t--;
  }

  state(): OptimizerState {
    const dump = (src: Map<string, tf.Variable>) => new Map([...src].map(([k, t]) => [k, (t.dataSync() as Float32Array).slice()]));
    return { step: this.t, m: dump(this.m), v: dump(this.v) };
  }

  loadState(s: OptimizerState): void {
    this.t = s.step;
    for (const [src, dst] of [[s.m, this.m], [s.v, this.v]] as const) {
      for (const [k, vals] of src) {
        const target = dst.get(k);
        if (!target) throw new ArgumentError("is in the optimizer state but not a trainable parameter of this run", { file: 'AdamW.loadState', field: k, expected: `one of this run's ${dst.size} trainable parameters` });
        if (target.size !== vals.length) throw new ShapeError(`optimizer state has ${vals.length} values`, { file: 'AdamW.loadState', field: k, expected: `${target.size}, the parameter's size` });
        const t = tf.tensor(vals, target.shape);
        target.assign(t);
        t.dispose();
      }
    }
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
  }
}

/** The gradients' global L2 norm ‖g‖ = √(Σ_k Σ g_k²): one native pass (in double) where the kernels are on. */
export function globalGradNorm(grads: Map<string, tf.Tensor>): number {
  const native = nativeSumSquares([...grads.values()]);
  return Math.sqrt(native ?? tf.tidy(() => tf.addN([...grads.values()].map((g) => tf.sum(g.square()))).dataSync()[0]));
}

/** The clip's scale for a global norm: maxNorm / (‖g‖ + 1e-6) when ‖g‖ > maxNorm (and both are usable), else 1. */
export function clipScale(norm: number, maxNorm: number): number {
  return !(maxNorm > 0) || norm <= maxNorm || !Number.isFinite(norm) ? 1 : maxNorm / (norm + 1e-6);
}

/** Scale gradients so that their global L2 norm is at most maxNorm; returns the norm before clipping. */
export function clipGradNorm(grads: Map<string, tf.Tensor>, maxNorm: number): { norm: number; clipped: Map<string, tf.Tensor> } {
  const norm = globalGradNorm(grads);
  const s = clipScale(norm, maxNorm);
  if (s === 1) return { norm, clipped: grads };
  const clipped = new Map([...grads].map(([k, g]) => [k, g.mul(s)]));
  for (const g of grads.values()) g.dispose();
  return { norm, clipped };
}

/**
 * clipGradNorm without reading anything back: the norm stays a tensor and the scale is chosen on the device,
 *   s = maxNorm / (‖g‖ + 1e-6) if ‖g‖ > maxNorm else 1,
 * and every gradient is multiplied by s (by exactly 1 when not clipping, which changes no bit). `clipped` are new
 * tensors; the caller disposes both maps.
 */
export function clipGradNormOnDevice(grads: Map<string, tf.Tensor>, maxNorm: number): { norm: tf.Scalar; clipped: Map<string, tf.Tensor> } {
  // Σ_k Σ g_k² added one tensor at a time, in order (tf.addN's order), since WebGPU's AddN binds one buffer per input
  // and adapters allow only 8 to 10 of them.
  const norm = tf.tidy(() => tf.sqrt([...grads.values()].map((g) => tf.sum(g.square())).reduce((a, b) => a.add(b))) as tf.Scalar);
  if (!(maxNorm > 0)) return { norm, clipped: new Map([...grads].map(([k, g]) => [k, g.clone()])) };
  const scale = tf.tidy(() => tf.where(norm.greater(maxNorm), tf.div(maxNorm, norm.add(1e-6)), tf.scalar(1)));
  const clipped = new Map([...grads].map(([k, g]) => [k, g.mul(scale)]));
  scale.dispose();
  return { norm, clipped };
}

export const SCHEDULES = ['constant', 'cosine', 'linear'] as const;
export type Schedule = (typeof SCHEDULES)[number];

/** Learning rate at `step` (0-based): linear warmup over `warmupSteps`, then constant, cosine or linear decay to 0. */
export function learningRate(step: number, o: { lr: number; warmupSteps: number; totalSteps: number; schedule: Schedule }): number {
  if (o.warmupSteps > 0 && step < o.warmupSteps) return (o.lr * (step + 1)) / o.warmupSteps;
  if (o.schedule === 'constant') return o.lr;
  const progress = Math.min(1, (step - o.warmupSteps) / Math.max(1, o.totalSteps - o.warmupSteps));
  if (o.schedule === 'linear') return o.lr * (1 - progress);
  return 0.5 * o.lr * (1 + Math.cos(Math.PI * progress));
}
