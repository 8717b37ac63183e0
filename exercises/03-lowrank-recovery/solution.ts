import { svdJacobi } from 'loralab/linalg';

/** Eckart–Young: M_r = Σ_{i≤r} σᵢ uᵢ vᵢᵀ is the closest matrix of rank ≤ r in Frobenius norm. */
export function bestRankApprox(M: Float64Array, m: number, n: number, r: number): Float64Array {
  const { U, S, Vt, k } = svdJacobi(M, m, n);
  const out = new Float64Array(m * n);
  for (let t = 0; t < Math.min(r, k); t++) {
    for (let i = 0; i < m; i++) {
      const us = U[i * k + t] * S[t];
      for (let j = 0; j < n; j++) out[i * n + j] += us * Vt[t * n + j];
    }
  }
  return out;
}

export function energyKept(singularValues: ArrayLike<number>, r: number): number {
  let kept = 0;
  let all = 0;
  for (let i = 0; i < singularValues.length; i++) {
    const e = singularValues[i] ** 2;
    all += e;
    if (i < r) kept += e;
  }
  return all === 0 ? 1 : kept / all;
}
