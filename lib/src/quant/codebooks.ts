/**
 * The 4-bit codebooks of bitsandbytes (`functional.py` `get_4bit_type`), index = 4-bit code.
 * Every literal is exactly representable in float32; these are the tensors saved as `weight.quant_map`.
 */
import { QuantizationError } from './errors.js';

export type QuantType = 'nf4' | 'fp4';

/** NF4: sorted ascending, 7 negative values, an exact 0 (code 7) and 8 positive values (QLoRA paper, §3). */
export const NF4_CODE: Float32Array = Float32Array.from([
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
  -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
  0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
]);

/**
 * FP4 (e2m1 with bitsandbytes' bias): bit 3 is the sign, bits 0..2 the magnitude. The raw table
 * [0, 0.0625, 8, 12, 4, 6, 2, 3] is divided by its max 12, so it is NOT sorted by code.
 * Code 8 holds +0.0: bitsandbytes writes the table as a Python list whose ninth entry is the literal `-0`, an integer,
 * so `torch.tensor(...)` stores +0.0 there. Small positive values, which bucketize to code 8, dequantize to +0.0.
 */
export const FP4_CODE: Float32Array = Float32Array.from(
  [0, 0.0625, 8, 12, 4, 6, 2, 3, 0, -0.0625, -8, -12, -4, -6, -2, -3].map((v) => Math.fround(v / 12)),
);

/**
 * `torch.argsort(FP4_CODE)` as bitsandbytes' default backend computes it (`_get_4bit_quantize_bounds`): position in
 * ascending order -> code. The two zeros (codes 0 and 8) tie; torch puts code 0 first, and we keep that order, so the
 * midpoint between them is 0: x = 0 goes to code 0, 0 < x below the next midpoint to code 8.
 */
export const FP4_SORT_ORDER: Uint8Array = Uint8Array.from([11, 10, 13, 12, 15, 14, 9, 0, 8, 1, 6, 7, 4, 5, 2, 3]);

export function codebook(quantType: QuantType): Float32Array {
  if (quantType === 'nf4') return NF4_CODE;
  if (quantType === 'fp4') return FP4_CODE;
  throw new QuantizationError(`unknown quant type '${String(quantType)}'`, { field: 'quant_type', expected: "'nf4' or 'fp4'" });
}

/**
 * Decision boundaries: the float32 midpoints between neighbouring codes in ascending order,
 * `(code[order[i]] + code[order[i+1]]) / 2`. A scaled value x gets sorted position
 * `#{ i : x > bounds[i] }` (torch.bucketize with right=False), so a value exactly on a midpoint goes to the LOWER code.
 * For NF4 these are bit-identical to the thresholds of the CUDA kernel's `dQuantizeNF4` tree.
 */
export function midpoints(sortedCode: ArrayLike<number>): Float32Array {
  const out = new Float32Array(sortedCode.length - 1);
  for (let i = 0; i < out.length; i++) out[i] = Math.fround(sortedCode[i] + sortedCode[i + 1]) / 2;
  return out;
}

export interface QuantBounds {
  /** Ascending midpoints (length = codes - 1). */
  bounds: Float32Array;
  /** Sorted position -> code index (identity for NF4 and the dynamic map). */
  order: Uint8Array;
}

const cache = new Map<QuantType, QuantBounds>();

export function quantBounds(quantType: QuantType): QuantBounds {
  let b = cache.get(quantType);
  if (!b) {
    const code = codebook(quantType);
    const order = quantType === 'nf4' ? Uint8Array.from(code.keys()) : FP4_SORT_ORDER;
    const sorted = Array.from(order, (i) => code[i]);
    b = { bounds: midpoints(sorted), order };
    cache.set(quantType, b);
  }
  return b;
}

/**
 * bucketize(x, bounds, right=False): the number of bounds strictly below x. Ties go to the lower index.
 * NaN compares false everywhere and lands at 0 (callers reject NaN before this).
 */
export function bucketize(x: number, bounds: Float32Array): number {
  let lo = 0;
  let hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x > bounds[mid]) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
