/**
 * Float tensors in and out of safetensors bytes: decode F32/F16/BF16/F64 to float32 values, encode float32 values
 * into F32, F16 or BF16 (round-to-nearest-even).
 */
import { aligned, type Dtype, type RawTensor } from '../io/index.js';
import { fromBf16, toBf16 } from './bf16.js';
import { fromF16, toF16 } from './float16.js';
import type { FloatDType } from './blockwise4.js';

export type FloatStorage = 'F32' | 'F16' | 'BF16';

/** torch dtype name (as bitsandbytes writes it) <-> safetensors dtype. */
export const STORAGE_OF: Record<FloatDType, FloatStorage> = { float32: 'F32', bfloat16: 'BF16', float16: 'F16' };
export const DTYPE_OF: Record<FloatStorage, FloatDType> = { F32: 'float32', BF16: 'bfloat16', F16: 'float16' };

export const FLOAT_DTYPES: readonly Dtype[] = ['F32', 'F16', 'BF16', 'F64'];

export function isFloatDtype(d: Dtype): boolean {
  return FLOAT_DTYPES.includes(d);
}

/** Values of a floating tensor as float32 (F64 is rounded to float32). */
export function toFloat32(t: RawTensor, file = '<tensor>', name = '?'): Float32Array {
  switch (t.dtype) {
    case 'F32': return new Float32Array(aligned(t.data));
    case 'BF16': return fromBf16(new Uint16Array(aligned(t.data)));
    case 'F16': return fromF16(new Uint16Array(aligned(t.data)));
    case 'F64': return Float32Array.from(new Float64Array(aligned(t.data)));
    default:
      throw new Error(`${file}: tensor '${name}' has dtype ${t.dtype}; expected a floating dtype (F32, F16, BF16 or F64)`);
  }
}

/** Encode float values into a storage dtype's bytes (little-endian). */
export function fromFloat32(values: Float32Array, dtype: FloatStorage): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  const bits = dtype === 'BF16' ? toBf16(values) : toF16(values);
  return new Uint8Array(bits.buffer);
}

export function floatTensor(values: Float32Array, shape: number[], dtype: FloatStorage = 'F32'): RawTensor {
  return { dtype, shape, data: fromFloat32(values, dtype) };
}
