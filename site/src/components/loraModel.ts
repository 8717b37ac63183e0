/**
 * The numbers behind the LoRA explorables, computed with LoRA Lab's own SVD and random numbers (no TF.js: these run
 * inside the lesson pages, which must stay light). Pure functions, so the tests compute the same values in Node and
 * compare them with the page.
 */
import { svdJacobi, type Svd } from '../../../lib/src/linalg/svd.js';
import { Rng } from '../../../lib/src/util/rng.js';

/** ΔW is d × k, as a query or value projection update would be, scaled down. */
export const D = 96, K = 64;
/** ΔW is planted as a sum of this many rank-one directions, plus a little noise. */
export const PLANTED_RANK = 24;
export const NOISE = 0.002;

/** ΔW = Σ_{i<24} σᵢ uᵢ vᵢᵀ + noise, with σᵢ = 1/(i+1)^decay: a decaying spectrum as fine-tuning updates have (notebook 3). */
export function makeUpdate(decay: number): Float64Array {
  const r = new Rng(7);
  const M = new Float64Array(D * K);
  for (let i = 0; i < PLANTED_RANK; i++) {
    const s = 1 / (i + 1) ** decay;
    const u = Array.from({ length: D }, () => r.normal() / Math.sqrt(D));
    const v = Array.from({ length: K }, () => r.normal() / Math.sqrt(K));
    for (let a = 0; a < D; a++) for (let b = 0; b < K; b++) M[a * K + b] += s * u[a] * v[b];
  }
  for (let j = 0; j < M.length; j++) M[j] += NOISE * r.normal();
  return M;
}

export interface Spectrum { M: Float64Array; svd: Svd; total: number }
const spectra = new Map<number, Spectrum>();
/** ΔW for this decay and its SVD (LoRA Lab's one-sided Jacobi), computed once per decay. */
export function spectrum(decay: number): Spectrum {
  let s = spectra.get(decay);
  if (!s) {
    const M = makeUpdate(decay);
    const svd = svdJacobi(M, D, K);
    s = { M, svd, total: svd.S.reduce((a, v) => a + v * v, 0) };
    spectra.set(decay, s);
  }
  return s;
}

/**
 * Compute the spectra of `decays` ahead, one per idle moment of the browser, so that moving the decay slider finds
 * its SVD ready (each takes tens of milliseconds on a small CPU). Returns a function that stops.
 */
export function precomputeSpectra(decays: number[]): () => void {
  let stopped = false;
  const idle = (f: () => void) => ('requestIdleCallback' in window ? window.requestIdleCallback(f) : setTimeout(f, 50));
  const next = (i: number) => { if (stopped || i >= decays.length) return; spectrum(decays[i]); idle(() => next(i + 1)); };
  idle(() => next(0));
  return () => { stopped = true; };
}

/** Share of ‖ΔW‖²_F a rank-r approximation keeps: Σ_{i≤r} σᵢ² / Σ σᵢ². */
export const keptEnergy = (s: Spectrum, r: number) => s.svd.S.slice(0, r).reduce((a, v) => a + v * v, 0) / s.total;
/** Eckart–Young: ‖ΔW − ΔW_r‖_F / ‖ΔW‖_F = √(Σ_{i>r} σᵢ² / Σ σᵢ²). */
export const relativeError = (s: Spectrum, r: number) => Math.sqrt(Math.max(0, 1 - keptEnergy(s, r)));

/** ΔW_r = U_r diag(σ_1..σ_r) V_rᵀ, the best rank-r approximation, row-major D × K. */
export function truncated(s: Spectrum, r: number): Float64Array {
  const { U, S, Vt, k } = s.svd;
  const out = new Float64Array(D * K);
  for (let i = 0; i < r; i++) for (let a = 0; a < D; a++) {
    const us = U[a * k + i] * S[i];
    for (let b = 0; b < K; b++) out[a * K + b] += us * Vt[i * K + b];
  }
  return out;
}

/** Frobenius distance ‖A − B‖_F / ‖A‖_F, measured on the matrices (checks Eckart–Young on the page). */
export function measuredError(a: Float64Array, b: Float64Array): number {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) { num += (a[i] - b[i]) ** 2; den += a[i] ** 2; }
  return Math.sqrt(num / den);
}

/** LoRA's numbers for a d × k matrix: r(d+k) against dk, and the rank above which the factors are the bigger. */
export const loraParams = (r: number, d = D, k = K) => ({ lora: r * (d + k), full: d * k, share: (r * (d + k)) / (d * k), breakEven: (d * k) / (d + k) });

/** γ: PEFT's α/r, or rsLoRA's α/√r (loralab's loraScaling). */
export const gamma = (r: number, alpha: number, rslora: boolean) => (rslora ? alpha / Math.sqrt(r) : alpha / r);

/** Notebook 4's measurement: layers of width 256, (Ax)_j ~ N(0, 1) and B_ij ~ N(0, 1), 64 inputs. */
export const SCALING_DIM = 256;
export const SCALING_RANKS = [1, 2, 4, 8, 16, 32, 64, 128];
const memo = new Map<number, number>();
/**
 * RMS of BAx over 64 random inputs, before the scale γ: grows like √r, because each output sums r independent
 * products. With A's entries N(0, 1/dim) the vector Ax has unit-variance entries, as in notebook 4.
 */
export function rmsBAx(r: number): number {
  const hit = memo.get(r);
  if (hit !== undefined) return hit;
  const rng = new Rng(1000 + r);
  const n = SCALING_DIM, batch = 64;
  const A = rng.normalArray(r * n, 1 / Math.sqrt(n)), B = rng.normalArray(n * r, 1), x = rng.normalArray(batch * n, 1);
  let ss = 0;
  const ax = new Float64Array(r);
  for (let t = 0; t < batch; t++) {
    for (let j = 0; j < r; j++) { let s = 0; for (let c = 0; c < n; c++) s += A[j * n + c] * x[t * n + c]; ax[j] = s; }
    for (let i = 0; i < n; i++) { let s = 0; for (let j = 0; j < r; j++) s += B[i * r + j] * ax[j]; ss += s * s; }
  }
  const v = Math.sqrt(ss / (batch * n));
  memo.set(r, v);
  return v;
}
/** RMS of the update γ·BAx. */
export const updateRms = (r: number, alpha: number, rslora: boolean) => gamma(r, alpha, rslora) * rmsBAx(r);

/** A matrix's rows, for a heat map (every `step`-th row and column, to keep the figure small). */
export function rows(M: Float64Array, cols: number, step = 1): number[][] {
  const out: number[][] = [];
  for (let a = 0; a < M.length / cols; a += step) {
    const row: number[] = [];
    for (let b = 0; b < cols; b += step) row.push(Number(M[a * cols + b].toPrecision(4)));
    out.push(row);
  }
  return out;
}
