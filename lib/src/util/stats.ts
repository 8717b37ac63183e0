/** Confidence intervals for the accuracies LoRA Lab reports (SQL grading, the copy probe, the experiment runner). */
import { ArgumentError } from './errors.js';

/** z for a two-sided 95 % interval: Φ⁻¹(0.975). */
export const Z95 = 1.959963984540054;

/**
 * Wilson score interval for k successes in n trials: (p + z²/2n ± z·sqrt(p(1−p)/n + z²/4n²)) / (1 + z²/n), p = k/n.
 * Unlike p ± z·sqrt(p(1−p)/n) it stays inside [0, 1] and is not empty at p = 0 or 1.
 */
export function wilson(k: number, n: number, z = Z95): [number, number] {
  if (!Number.isInteger(n) || n <= 0 || !Number.isInteger(k) || k < 0 || k > n) throw new ArgumentError(`got k=${k}, n=${n}`, { file: 'wilson', field: 'k, n', expected: 'integers 0 <= k <= n, n > 0' });
  const p = k / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  // at k = 0 (k = n) the bound is exactly 0 (1); computed, it can land a rounding error away
  return [k === 0 ? 0 : Math.max(0, centre - half), k === n ? 1 : Math.min(1, centre + half)];
}

/** An accuracy as the record every report uses: counts, rate and its 95 % Wilson interval. */
export interface Rate {
  correct: number;
  n: number;
  rate: number;
  ci95: [number, number];
}

export function rate(correct: number, n: number): Rate {
  return { correct, n, rate: correct / n, ci95: wilson(correct, n) };
}

/** t_{0.975, df} for df = 1…30 (two-sided 95 %); beyond 30 the normal's z is within 2 %. */
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

/** Mean of repeated runs (seeds) and its 95 % Student-t interval: x̄ ± t_{0.975, n−1} · s/√n (s with n − 1). */
export interface MeanInterval {
  n: number;
  mean: number;
  /** Sample standard deviation; 0 for one value. */
  sd: number;
  /** [lo, hi]; null for one value (no spread to estimate). */
  ci95: [number, number] | null;
}

export function meanInterval(xs: readonly number[]): MeanInterval {
  const n = xs.length;
  if (!n || xs.some((x) => !Number.isFinite(x))) throw new ArgumentError(`got [${xs.join(', ')}]`, { file: 'meanInterval', field: 'xs', expected: 'one or more finite numbers' });
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { n, mean, sd: 0, ci95: null };
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  const half = (T975[n - 2] ?? Z95) * (sd / Math.sqrt(n));
  return { n, mean, sd, ci95: [mean - half, mean + half] };
}
