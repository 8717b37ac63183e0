/**
 * The numbers behind the NF4 explorable and playground: weights to quantize, and one 4-bit quantization of them as
 * NF4 or FP4 (LoRA Lab's quantize4bit, byte for byte bitsandbytes') or int4 (symmetric absmax integers, levels k/7,
 * the baseline notebook 6 compares with), with or without double quantization of the absmax values. Pure functions,
 * so the tests compute the same values in Node and compare them with the page.
 */
import { quantize4bit, bitsPerParameter } from '../../../lib/src/quant/quantize4bit.js';
import { doubleQuantize, recoverAbsmax } from '../../../lib/src/quant/doubleQuant.js';
import { NF4_CODE, FP4_CODE } from '../../../lib/src/quant/codebooks.js';
import { Rng } from '../../../lib/src/util/rng.js';

export type Dist = 'normal' | 'uniform' | 'laplace' | 'normal + outliers';
export const DISTS: Dist[] = ['normal', 'uniform', 'laplace', 'normal + outliers'];

/** n seeded weights of about the size of a trained layer's (standard deviation 0.02). */
export function sampleWeights(dist: Dist, n: number, seed = 1): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => {
    const u = r.next();
    switch (dist) {
      case 'uniform': return 0.05 * (2 * u - 1);
      case 'laplace': return 0.02 * Math.sign(u - 0.5) * -Math.log(1 - 2 * Math.abs(u - 0.5));
      case 'normal + outliers': return u < 0.002 ? 0.4 * (r.next() < 0.5 ? -1 : 1) : 0.02 * r.normal();
      default: return 0.02 * r.normal();
    }
  });
}

export type QType = 'nf4' | 'fp4' | 'int4';
/** int4's 15 levels k/7, k = −7..7 (code k + 7). */
export const INT4_LEVELS = Float32Array.from({ length: 15 }, (_, k) => (k - 7) / 7);
export const levelsOf = (t: QType): Float32Array => (t === 'nf4' ? NF4_CODE : t === 'fp4' ? FP4_CODE : INT4_LEVELS);

export interface Quantized {
  absmax: Float32Array; scaled: Float32Array; codes: Uint8Array; dequantized: Float32Array; error: Float32Array;
  /** Bits per parameter: 4 for the codes plus the absmax constants (paper arithmetic, from the stored sizes). */
  bits: number;
  /** RMS error / RMS weight. */
  relError: number;
}

const rms = (a: ArrayLike<number>) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i] * a[i]; return Math.sqrt(s / a.length); };

/** int4: code = round(7 · x / absmax) + 7, dequantized (code − 7)/7 · absmax; the absmax double-quantized as NF4's is. */
function quantizeInt4(x: Float32Array, blocksize: number, doubleQuant: boolean): Omit<Quantized, 'relError'> {
  const nb = Math.ceil(x.length / blocksize);
  const absmax = new Float32Array(nb);
  for (let b = 0; b < nb; b++) for (let i = b * blocksize; i < Math.min(x.length, (b + 1) * blocksize); i++) absmax[b] = Math.max(absmax[b], Math.abs(x[i]));
  const dq = doubleQuant ? doubleQuantize(absmax) : null;
  const used = dq ? recoverAbsmax(dq.state) : absmax;
  const scaled = new Float32Array(x.length), codes = new Uint8Array(x.length), dequantized = new Float32Array(x.length), error = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const b = Math.floor(i / blocksize);
    scaled[i] = absmax[b] > 0 ? Math.max(-1, Math.min(1, x[i] / absmax[b])) : 0;
    codes[i] = Math.round(7 * scaled[i]) + 7;
    dequantized[i] = Math.fround(INT4_LEVELS[codes[i]] * used[b]);
    error[i] = dequantized[i] - x[i];
  }
  const constantBits = dq ? dq.state.qabsmax.byteLength * 8 + dq.state.nestedAbsmax.byteLength * 8 + 32 : absmax.byteLength * 8;
  return { absmax, scaled, codes, dequantized, error, bits: 4 + constantBits / x.length };
}

const cache = new WeakMap<Float32Array, Map<string, Quantized>>();
/** One quantization of `x` (kept per weights array, so toggling back and forth does not recompute). */
export function quantizeAs(x: Float32Array, type: QType, blocksize: number, doubleQuant: boolean): Quantized {
  const key = `${type}/${blocksize}/${doubleQuant}`;
  const byX = cache.get(x) ?? new Map<string, Quantized>();
  cache.set(x, byX);
  const hit = byX.get(key);
  if (hit) return hit;
  const q = quantizeUncached(x, type, blocksize, doubleQuant);
  byX.set(key, q);
  return q;
}

function quantizeUncached(x: Float32Array, type: QType, blocksize: number, doubleQuant: boolean): Quantized {
  const q = type === 'int4'
    ? quantizeInt4(x, blocksize, doubleQuant)
    : (() => {
      const { state, trace } = quantize4bit(x, { quantType: type, blocksize, doubleQuant, trace: true });
      return { ...trace, bits: bitsPerParameter(state).total };
    })();
  return { ...q, relError: rms(q.error) / rms(x) };
}
