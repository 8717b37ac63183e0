import { svdJacobi } from 'loralab/linalg';
import type { Exercise, Helpers } from '../grader/types.js';

type Approx = (M: Float64Array, m: number, n: number, r: number) => Float64Array;
const fro = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((s, v) => s + v * v, 0));
function lowRankPlusNoise(m: number, n: number, rank: number, t: Helpers, seed: number) {
  const g = t.rng(seed);
  const M = new Float64Array(m * n);
  for (let k = 0; k < rank; k++) {
    const u = Array.from({ length: m }, () => g.normal()), v = Array.from({ length: n }, () => g.normal());
    const s = 10 / (k + 1);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) M[i * n + j] += s * u[i] * v[j];
  }
  for (let i = 0; i < M.length; i++) M[i] += 0.05 * g.normal();
  return M;
}
function checkApprox(fn: Approx, m: number, n: number, r: number, t: Helpers, seed: number) {
  const M = lowRankPlusNoise(m, n, 6, t, seed);
  const S = svdJacobi(M, m, n).S;
  const got = fn(M, m, n, r);
  if (!(got instanceof Float64Array) && !Array.isArray(got)) t.fail(`expected a Float64Array of ${m * n} values, got ${typeof got}`);
  if (got.length !== m * n) t.fail(`expected ${m * n} values ([${m}, ${n}] row-major), got ${got.length}`);
  const bound = Math.sqrt(Array.from(S).slice(r).reduce((a, s) => a + s * s, 0));
  const err = fro(Array.from(M, (v, i) => v - got[i]));
  if (!(Math.abs(err - bound) <= 1e-8 * fro(M) + 1e-12)) t.fail(`‖M − your M_${r}‖_F = ${err.toPrecision(8)}, but the best possible is √(Σ_{i>${r}} σᵢ²) = ${bound.toPrecision(8)}${err > bound ? ': keep the LARGEST singular values, and multiply by σ' : ''}`);
  const rank = Array.from(svdJacobi(Float64Array.from(got), m, n).S).filter((s) => s > 1e-9 * S[0]).length;
  if (rank > r) t.fail(`your approximation has rank ${rank}, more than r = ${r}`);
}

export default {
  title: 'The best rank-r approximation',
  exports: ['bestRankApprox', 'energyKept'],
  forbiddenImports: ['truncate', 'reconstruct', 'svdTopK'],
  readNext: 'notebooks/03-lora-idea.ipynb and notebooks/04-lora-mathematics.ipynb (Eckart–Young)',
  checks: [
    { name: 'rank 1 of a 12×8 matrix', points: 2, hint: 'σ₁ u₁ v₁ᵀ: U is [m, k] and Vt is [k, n], row-major', run: (m, t) => checkApprox(m.bestRankApprox as Approx, 12, 8, 1, t, 1) },
    { name: 'rank 3 and rank 6 of a 20×30 matrix', points: 3, hint: 'sum the first r rank-one terms', run: (m, t) => { checkApprox(m.bestRankApprox as Approx, 20, 30, 3, t, 2); checkApprox(m.bestRankApprox as Approx, 20, 30, 6, t, 3); } },
    { name: 'r larger than min(m, n) gives M back', points: 1, hint: 'stop at k = min(m, n) terms', run: (m, t) => checkApprox(m.bestRankApprox as Approx, 5, 4, 9, t, 4) },
    { name: 'energy kept', points: 2, hint: 'squares of singular values: Σ_{i≤r} σᵢ² / Σ σᵢ²', run: (m, t) => {
      const e = m.energyKept as (s: number[], r: number) => number;
      t.close(e([3, 2, 1], 1), 9 / 14, 1e-12, 'energyKept([3, 2, 1], 1)');
      t.close(e([3, 2, 1], 3), 1, 1e-12, 'energyKept([3, 2, 1], 3)');
      t.close(e([5, 0, 0], 1), 1, 1e-12, 'energyKept([5, 0, 0], 1)');
    } },
  ],
} satisfies Exercise;
