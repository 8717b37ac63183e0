/**
 * Floating dtypes by their torch names (what bitsandbytes' quant_state JSON, PEFT and the CLI spell), the safetensors
 * dtype that stores each, and the rounding that makes float32 values into a dtype's values.
 */
import { roundToBf16 } from './bf16.js';
import { fromF16, toF16 } from './float16.js';

/** The one list of floating dtypes LoRA Lab computes in or stores 4-bit states for. */
export const FLOAT_DTYPES = ['float32', 'bfloat16', 'float16'] as const;
export type FloatDType = (typeof FLOAT_DTYPES)[number];

/** safetensors' name for each (a subset of io's Dtype). */
export type FloatStorage = 'F32' | 'F16' | 'BF16';
export const STORAGE_OF: Record<FloatDType, FloatStorage> = { float32: 'F32', bfloat16: 'BF16', float16: 'F16' };

/** Largest finite value of each dtype, as text (for error messages about overflow). */
export const LARGEST_FINITE: Record<FloatDType, string> = { float32: '3.4028235e38', bfloat16: '3.3895314e38', float16: '65504' };

export function isFloatDType(v: unknown): v is FloatDType {
  return typeof v === 'string' && (FLOAT_DTYPES as readonly string[]).includes(v);
}

/** Number of elements of a shape: ∏ shape[i] (1 for a scalar's []). */
export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Round float32 values, in place, to the values of `dtype` (round-to-nearest-even), kept as float32 numbers: what
 * `tensor.to(dtype)` does before bitsandbytes quantizes or after it dequantizes.
 */
export function castValues(values: Float32Array, dtype: FloatDType): Float32Array {
  if (dtype === 'bfloat16') return roundToBf16(values, { inPlace: true });
  if (dtype === 'float16') values.set(fromF16(toF16(values)));
  return values;
}
