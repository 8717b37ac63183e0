/**
 * bfloat16: the top 16 bits of an IEEE-754 float32 (1 sign, 8 exponent, 7 mantissa bits).
 *
 * Storage is real: a bf16 tensor is a Uint16Array of bit patterns. Compute in LoRA Lab means "values rounded to
 * bf16, products accumulated in float32", because TF.js tensors are float32 only.
 *
 * Rounding is round-to-nearest-even, exactly as PyTorch's `c10::BFloat16` (`round_to_nearest_even`):
 *   bits16 = (bits32 + 0x7FFF + ((bits32 >> 16) & 1)) >> 16
 * NaN becomes the canonical quiet NaN 0x7FC0 (PyTorch does the same); ±Inf and ±0 keep their sign.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Canonical bf16 NaN written by PyTorch for any NaN input. */
export const BF16_NAN = 0x7fc0;

/** float32 bit pattern of a number (after rounding it to float32). */
export function f32Bits(x: number): number {
  f32[0] = x;
  return u32[0];
}

/** float32 value of a 32-bit pattern. */
export function f32FromBits(bits: number): number {
  u32[0] = bits >>> 0;
  return f32[0];
}

/** Round one float32 value to the bf16 bit pattern (round-to-nearest-even). */
export function f32ToBf16(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  if (x !== x) return BF16_NAN;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** The float32 value of a bf16 bit pattern (exact: bf16 is a subset of float32). */
export function bf16ToF32(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0];
}

/** Round a number to the nearest bf16 value, returned as a number. */
export function roundScalarToBf16(x: number): number {
  return bf16ToF32(f32ToBf16(x));
}

/** Convert float32 values to bf16 bit patterns (round-to-nearest-even). */
export function toBf16(values: ArrayLike<number>): Uint16Array {
  const src = values instanceof Float32Array ? values : Float32Array.from(values);
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const b = bits[i];
    // NaN: exponent all ones and a non-zero mantissa.
    if ((b & 0x7f800000) === 0x7f800000 && (b & 0x007fffff) !== 0) out[i] = BF16_NAN;
    else out[i] = ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
  }
  return out;
}

/** Expand bf16 bit patterns to float32 values (exact). */
export function fromBf16(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const o = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) o[i] = bits[i] << 16;
  return out;
}

/**
 * Round float32 values to bf16 values, keeping them as float32 (what "bf16 compute" means on a float32 backend).
 * Returns a new array; `inPlace: true` overwrites the input instead.
 */
export function roundToBf16(values: Float32Array, opts: { inPlace?: boolean } = {}): Float32Array {
  const out = opts.inPlace ? values : new Float32Array(values.length);
  const src = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const dst = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < values.length; i++) {
    const b = src[i];
    if ((b & 0x7f800000) === 0x7f800000 && (b & 0x007fffff) !== 0) dst[i] = BF16_NAN << 16;
    else dst[i] = ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) << 16;
  }
  return out;
}
