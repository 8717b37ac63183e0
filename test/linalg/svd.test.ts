import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { svdJacobi, svdTopK, reconstruct, matmul } from 'loralab/linalg';
import { Rng } from '../../lib/src/util/rng.js';

const frob = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((s, v) => s + v * v, 0));

describe('SVD', () => {
  it('reconstructs any small matrix, with orthonormal factors and descending singular values', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 1e6 }), (m, n, seed) => {
        const a = Float64Array.from(new Rng(seed).normalArray(m * n));
        const s = svdJacobi(a, m, n);
        const r = reconstruct(s);
        for (let i = 0; i < a.length; i++) if (Math.abs(r[i] - a[i]) > 1e-9) return false;
        for (let k = 1; k < s.k; k++) if (s.S[k] > s.S[k - 1] + 1e-12) return false;
        // Vt rows orthonormal
        const vvt = matmul(s.Vt, Float64Array.from({ length: s.n * s.k }, (_, idx) => s.Vt[(idx % s.k) * s.n + Math.floor(idx / s.k)]), s.k, s.n, s.k);
        for (let i = 0; i < s.k; i++) for (let j = 0; j < s.k; j++) if (Math.abs(vvt[i * s.k + j] - (i === j && s.S[i] > 1e-12 ? 1 : i === j ? vvt[i * s.k + j] : 0)) > 1e-9) return false;
        return true;
      }),
      { numRuns: 200 },
    );
  });
  it('the 3x3 rank-1 example: a rank-1 matrix has one non-zero singular value', () => {
    const u = [1, 2, 3];
    const v = [4, 5, 6];
    const a = Float64Array.from({ length: 9 }, (_, i) => u[Math.floor(i / 3)] * v[i % 3]);
    const s = svdJacobi(a, 3, 3);
    expect(s.S[0]).toBeCloseTo(Math.sqrt(14) * Math.sqrt(77), 10);
    expect(s.S[1]).toBeLessThan(1e-12);
  });
  it('Eckart–Young: the rank-k truncation error equals the norm of the dropped singular values; svdTopK finds them', () => {
    const rng = new Rng(3);
    const m = 120;
    const n = 90;
    // low-rank signal + noise
    const L = Float64Array.from(rng.normalArray(m * 5));
    const R = Float64Array.from(rng.normalArray(5 * n));
    const a = matmul(L, R, m, 5, n).map((x) => x + 0.01 * rng.normal());
    const full = svdJacobi(a, m, n);
    const top = svdTopK(a, m, n, 5, { seed: 1 });
    for (let k = 0; k < 5; k++) expect(top.S[k]).toBeCloseTo(full.S[k], 6);
    const approx = reconstruct(top);
    const err = frob(approx.map((x, i) => x - a[i]));
    const tail = Math.sqrt(Array.from(full.S.subarray(5)).reduce((s, x) => s + x * x, 0));
    expect(err).toBeCloseTo(tail, 4);
  });
});
