/**
 * Singular value decomposition in float64, for PiSSA initialisation, low-rank approximation (Eckart–Young) and the
 * notebooks. Matrices are row-major Float64Array with explicit [rows, cols].
 *
 * - `svdJacobi`: one-sided Jacobi (Hestenes). Accurate to machine precision; O(m n² · sweeps). For small and medium
 *   matrices (up to a few hundred columns).
 * - `svdTopK`: randomized subspace iteration (Halko, Martinsson & Tropp 2011, Alg. 4.4) for the top-k triplets of a
 *   large matrix, finished by svdJacobi on the small projected matrix.
 */
import { Rng } from '../util/rng.js';
import { ShapeError } from '../util/errors.js';

export interface Svd {
  /** [m, k] left singular vectors, row-major. */
  U: Float64Array;
  /** k singular values, descending. */
  S: Float64Array;
  /** [k, n] right singular vectors (Vᵀ), row-major. */
  Vt: Float64Array;
  m: number;
  n: number;
  k: number;
}

function transpose(a: Float64Array, m: number, n: number): Float64Array {
  const t = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) t[j * m + i] = a[i * n + j];
  return t;
}

/** Full thin SVD (k = min(m, n)) by one-sided Jacobi rotations on the columns. */
export function svdJacobi(a: ArrayLike<number>, m: number, n: number, opts: { tol?: number; maxSweeps?: number } = {}): Svd {
  if (a.length !== m * n) throw new ShapeError(`${a.length} values for a ${m}x${n} matrix`, { file: 'svdJacobi', field: 'a', expected: `m · n = ${m * n} values` });
  // Work on the orientation with fewer columns: A = U S Vt  <=>  Aᵀ = V S Uᵀ.
  if (n > m) {
    const r = svdJacobi(transpose(Float64Array.from(a), m, n), n, m, opts);
    return { U: transpose(r.Vt, r.k, m), S: r.S, Vt: transpose(r.U, n, r.k), m, n, k: r.k };
  }
  const tol = opts.tol ?? 1e-15;
  const maxSweeps = opts.maxSweeps ?? 60;
  // columns of W (m x n, stored column-major for cache-friendly column ops), V (n x n) accumulates rotations
  const W = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) W[j * m + i] = a[i * n + j];
  const V = new Float64Array(n * n);
  for (let j = 0; j < n; j++) V[j * n + j] = 1;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        const po = p * m;
        const qo = q * m;
        for (let i = 0; i < m; i++) {
          const x = W[po + i];
          const y = W[qo + i];
          alpha += x * x;
          beta += y * y;
          gamma += x * y;
        }
        if (gamma === 0 || Math.abs(gamma) <= tol * Math.sqrt(alpha * beta)) continue;
        off = Math.max(off, Math.abs(gamma) / Math.sqrt(alpha * beta));
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        rotate(W, po, qo, m, c, s);
        rotate(V, p * n, q * n, n, c, s);
      }
    }
    if (off <= tol) break;
  }
  // singular values = column norms; sort descending
  const S = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let i = 0; i < m; i++) s += W[j * m + i] ** 2;
    S[j] = Math.sqrt(s);
  }
  const order = Array.from(S.keys()).sort((x, y) => S[y] - S[x]);
  const U = new Float64Array(m * n);
  const Vt = new Float64Array(n * n);
  const Ss = new Float64Array(n);
  order.forEach((j, k) => {
    Ss[k] = S[j];
    for (let i = 0; i < m; i++) U[i * n + k] = S[j] > 0 ? W[j * m + i] / S[j] : 0;
    for (let i = 0; i < n; i++) Vt[k * n + i] = V[j * n + i];
  });
  return { U, S: Ss, Vt, m, n, k: n };
}

/** Orthonormalise the columns of Y [m, k] in place (modified Gram–Schmidt, twice for stability). */
function orthonormalize(Y: Float64Array, m: number, k: number): void {
  for (let pass = 0; pass < 2; pass++) {
    for (let j = 0; j < k; j++) {
      for (let p = 0; p < j; p++) {
        let d = 0;
        for (let i = 0; i < m; i++) d += Y[i * k + p] * Y[i * k + j];
        for (let i = 0; i < m; i++) Y[i * k + j] -= d * Y[i * k + p];
      }
      let nrm = 0;
      for (let i = 0; i < m; i++) nrm += Y[i * k + j] ** 2;
      nrm = Math.sqrt(nrm) || 1;
      for (let i = 0; i < m; i++) Y[i * k + j] /= nrm;
    }
  }
}

/** The Jacobi rotation of two stored columns: (x, y) ← (c·x − s·y, s·x + c·y) for `len` entries from offsets p and q. */
function rotate(M: Float64Array, p: number, q: number, len: number, c: number, s: number): void {
  for (let i = 0; i < len; i++) {
    const x = M[p + i];
    const y = M[q + i];
    M[p + i] = c * x - s * y;
    M[q + i] = s * x + c * y;
  }
}

/** C = A [m,n] · B [n,k]. */
export function matmul(A: ArrayLike<number>, B: ArrayLike<number>, m: number, n: number, k: number): Float64Array {
  return accumulateProduct(A, B, m, n, k, false);
}

/** C = Aᵀ · B, with A [m, n] and B [m, k]: C is [n, k]. */
function matmulTn(A: ArrayLike<number>, B: ArrayLike<number>, m: number, n: number, k: number): Float64Array {
  return accumulateProduct(A, B, m, n, k, true);
}

/**
 * Both products walk A [m, n] row by row, skipping zeros: A·B adds A[i,p]·B[p,:] into C[i,:]; Aᵀ·B adds A[i,p]·B[i,:]
 * into C[p,:]. Each entry of C sums its terms in the same order as a plain triple loop.
 */
function accumulateProduct(A: ArrayLike<number>, B: ArrayLike<number>, m: number, n: number, k: number, transposeA: boolean): Float64Array {
  const C = new Float64Array((transposeA ? n : m) * k);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < n; p++) {
      const a = A[i * n + p];
      if (a === 0) continue;
      const bo = (transposeA ? i : p) * k;
      const co = (transposeA ? p : i) * k;
      for (let j = 0; j < k; j++) C[co + j] += a * B[bo + j];
    }
  }
  return C;
}

/**
 * Top-k singular triplets of A [m, n] by randomized subspace iteration with `oversample` extra directions and
 * `iters` power iterations (each sharpens the spectrum gap by squaring it).
 */
export function svdTopK(a: ArrayLike<number>, m: number, n: number, k: number, opts: { oversample?: number; iters?: number; seed?: number } = {}): Svd {
  const kk = Math.min(Math.min(m, n), k + (opts.oversample ?? 10));
  if (Math.min(m, n) <= kk || Math.min(m, n) <= 64) {
    const full = svdJacobi(a, m, n);
    return truncate(full, k);
  }
  const rng = new Rng(opts.seed ?? 0);
  const omega = Float64Array.from({ length: n * kk }, () => rng.normal());
  let Y = matmul(a, omega, m, n, kk); // [m, kk]
  orthonormalize(Y, m, kk);
  for (let it = 0; it < (opts.iters ?? 4); it++) {
    const Z = matmulTn(a, Y, m, n, kk); // [n, kk] = Aᵀ Y
    orthonormalize(Z, n, kk);
    Y = matmul(a, Z, m, n, kk);
    orthonormalize(Y, m, kk);
  }
  // B = Yᵀ A  [kk, n];  B = Ub S Vt  =>  A ≈ (Y Ub) S Vt
  const B = matmulTn(Y, a, m, kk, n);
  const small = svdJacobi(B, kk, n);
  const U = matmul(Y, small.U, m, kk, small.k);
  return truncate({ U, S: small.S, Vt: small.Vt, m, n, k: small.k }, k);
}

export function truncate(s: Svd, k: number): Svd {
  const kk = Math.min(k, s.k);
  const U = new Float64Array(s.m * kk);
  for (let i = 0; i < s.m; i++) for (let j = 0; j < kk; j++) U[i * kk + j] = s.U[i * s.k + j];
  return { U, S: s.S.slice(0, kk), Vt: s.Vt.slice(0, kk * s.n), m: s.m, n: s.n, k: kk };
}

/** U diag(S) Vt, the rank-k reconstruction. */
export function reconstruct(s: Svd): Float64Array {
  const US = new Float64Array(s.m * s.k);
  for (let i = 0; i < s.m; i++) for (let j = 0; j < s.k; j++) US[i * s.k + j] = s.U[i * s.k + j] * s.S[j];
  return matmul(US, s.Vt, s.m, s.k, s.n);
}
