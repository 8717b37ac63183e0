import { Rng } from '../../lib/src/util/rng.js';

/**
 * absmax-like vectors for the float32 sum tests: positive, each with its own scale and a few large outliers, so that
 * float32 partial sums round often. Seeded, so that committed PyTorch results (test/fixtures/torch_mean.json) match.
 */
export function absmaxVectors(lengths: number[], seed: number): Float32Array[] {
  const rng = new Rng(seed);
  return lengths.map((n) => {
    const v = new Float32Array(n);
    const scale = 10 ** (rng.next() * 6 - 4);
    for (let i = 0; i < n; i++) v[i] = Math.abs(rng.normal()) * scale * (rng.next() < 0.05 ? 1000 : 1);
    return v;
  });
}
