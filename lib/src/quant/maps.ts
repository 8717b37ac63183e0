/**
 * Where the codebooks come from. These generators reproduce bitsandbytes' `create_normal_map` (NF4) and
 * `create_dynamic_map` (the 8-bit map of double quantization) step by step, with float32 rounding where PyTorch
 * rounds, so that a learner can derive the tables instead of trusting them.
 */
import { DYNAMIC_MAP_VALUES } from './data/dynamicMap.js';

const fr = Math.fround;

/**
 * `torch.linspace(start, end, steps)` in float32 (ATen's CPU kernel): step = (end - start) / (steps - 1);
 * the first half is start + step*i, the second half end - step*(steps-1-i), which makes both ends exact.
 */
export function linspaceF32(start: number, end: number, steps: number): Float32Array {
  const s = fr(start);
  const e = fr(end);
  const out = new Float32Array(steps);
  if (steps === 1) {
    out[0] = s;
    return out;
  }
  const step = fr(fr(e - s) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) {
    out[i] = i < halfway ? fr(s + fr(step * i)) : fr(e - fr(step * (steps - i - 1)));
  }
  return out;
}

/**
 * Inverse of the standard normal CDF, Φ⁻¹(p) — Wichura's algorithm AS 241 (PPND16), relative error about 1e-16,
 * the same accuracy class as scipy's `norm.ppf`.
 */
export function normPpf(p: number): number {
  if (!(p > 0 && p < 1)) {
    if (p === 0) return -Infinity;
    if (p === 1) return Infinity;
    return NaN;
  }
  const q = p - 0.5;
  if (Math.abs(q) <= 0.425) {
    const r = 0.180625 - q * q;
    return (
      (q *
        (((((((2509.0809287301226727 * r + 33430.575583588128105) * r + 67265.770927008700853) * r +
          45921.953931549871457) * r + 13731.693765509461125) * r + 1971.5909503065514427) * r +
          133.14166789178437745) * r + 3.387132872796366608)) /
      (((((((5226.495278852545925 * r + 28729.085735721942674) * r + 39307.89580009271061) * r +
        21213.794301586595867) * r + 5394.1960214247511077) * r + 687.1870074920579083) * r +
        42.313330701600911252) * r + 1)
    );
  }
  let r = q < 0 ? p : 1 - p;
  r = Math.sqrt(-Math.log(r));
  let val: number;
  if (r <= 5) {
    r -= 1.6;
    val =
      (((((((7.7454501427834140764e-4 * r + 0.0227238449892691845833) * r + 0.24178072517745061177) * r +
        1.27045825245236838258) * r + 3.64784832476320460504) * r + 5.7694972214606914055) * r +
        4.6303378461565452959) * r + 1.42343711074968357734) /
      (((((((1.05075007164441684324e-9 * r + 5.475938084995344946e-4) * r + 0.0151986665636164571966) * r +
        0.14810397642748007459) * r + 0.68976733498510000455) * r + 1.6763848301838038494) * r +
        2.05319162663775882187) * r + 1);
  } else {
    r -= 5;
    val =
      (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r + 0.0012426609473880784386) * r +
        0.026532189526576123093) * r + 0.29656057182850489123) * r + 1.7848265399172913358) * r +
        5.4637849111641143699) * r + 6.6579046435011037772) /
      (((((((2.04426310338993978564e-15 * r + 1.4215117583164458887e-7) * r + 1.8463183175100546818e-5) * r +
        7.868691311456132591e-4) * r + 0.0148753612908506148525) * r + 0.13692988092273580531) * r +
        0.59983220655588793769) * r + 1);
  }
  return q < 0 ? -val : val;
}

export interface NormalMapTrace {
  /** The float32 quantile probabilities for the positive half (8 of them) and the negative half (7). */
  positiveProbs: Float32Array;
  negativeProbs: Float32Array;
  /** Φ⁻¹ at those probabilities, before normalisation. */
  positive: number[];
  negative: number[];
}

/**
 * bitsandbytes' `create_normal_map(offset=0.9677083, use_extra_value=True)`: 8 positive quantiles
 * Φ⁻¹(linspace(offset, 0.5, 9)[:-1]), 7 negative ones −Φ⁻¹(linspace(offset, 0.5, 8)[:-1]), an exact zero; sorted and
 * divided by the max. The asymmetry (8 positive, 7 negative) is what lets zero be represented exactly (paper §3).
 * Returns the 16 NF4 values (the 241 padding zeros of the 256-entry version are dropped).
 */
export function createNormalMap(offset = 0.9677083): { code: Float32Array; trace: NormalMapTrace } {
  const positiveProbs = linspaceF32(offset, 0.5, 9).subarray(0, 8);
  const negativeProbs = linspaceF32(offset, 0.5, 8).subarray(0, 7);
  const positive = Array.from(positiveProbs, normPpf);
  const negative = Array.from(negativeProbs, (p) => -normPpf(p));
  const values = Float32Array.from([...positive, 0, ...negative]).sort();
  const max = values[values.length - 1];
  const code = values.map((v) => fr(v / max));
  return { code, trace: { positiveProbs, negativeProbs, positive, negative } };
}

/**
 * bitsandbytes' `create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8)`: for i = 0..6, the 2^i midpoints
 * of linspace(0.1, 1, 2^i + 1) scaled by 10^(i-6), with both signs; then 0 and 1. 256 sorted float32 values spanning
 * magnitudes 5.5e-7 .. 1 ("dynamic exponent"). There is no −1, so the map is asymmetric.
 * PyTorch's vectorised linspace rounds some boundaries differently, so 44 of the 256 entries differ from the table
 * bitsandbytes writes by one or two float32 ulps; quantization therefore uses `DYNAMIC_MAP` (PyTorch's values), and files
 * carry their own `nested_quant_map` anyway.
 */
export function createDynamicMap(): Float32Array {
  const data: number[] = [];
  const maxExponentBits = 7;
  for (let i = 0; i < maxExponentBits; i++) {
    const fractionItems = 2 ** i + 1;
    const boundaries = linspaceF32(0.1, 1, fractionItems);
    const scale = fr(10 ** (-(maxExponentBits - 1) + i));
    for (let j = 0; j + 1 < boundaries.length; j++) {
      const mean = fr(fr(boundaries[j] + boundaries[j + 1]) / 2);
      data.push(fr(scale * mean), fr(-scale * mean));
    }
  }
  data.push(0, 1);
  return Float32Array.from(data).sort();
}

/** The dynamic map as PyTorch computes it (see data/dynamicMap.ts). */
export const DYNAMIC_MAP: Float32Array = Float32Array.from(DYNAMIC_MAP_VALUES);
