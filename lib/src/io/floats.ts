/**
 * Floating safetensors tensors to and from float32 values: decode F32/F16/BF16/F64 (F64 rounded to float32), encode
 * into F32, F16 or BF16 (round-to-nearest-even, numerics/).
 */
import { fromBf16, toBf16 } from '../numerics/bf16.js';
import { fromF16, toF16 } from '../numerics/float16.js';
import type { FloatStorage } from '../numerics/dtype.js';
import type { Dtype } from './dtypes.js';
import type { RawTensor } from './safetensors.js';
import { aligned } from './tensors.js';
import { ArgumentError } from '../util/errors.js';

/** safetensors dtypes that decode to float values. */
export const FLOATING_DTYPES: readonly Dtype[] = ['F32', 'F16', 'BF16', 'F64'];

export function isFloatingDtype(d: Dtype): boolean {
  return FLOATING_DTYPES.includes(d);
}

/** Values of a floating tensor as float32 (F64 is rounded to float32). */
export function toFloat32(t: RawTensor, file = '<tensor>', name = '?'): Float32Array {
  switch (t.dtype) {
    case 'F32': return new Float32Array(aligned(t.data));
    case 'BF16': return fromBf16(new Uint16Array(aligned(t.data)));
    case 'F16': return fromF16(new Uint16Array(aligned(t.data)));
    case 'F64': return Float32Array.from(new Float64Array(aligned(t.data)));
    default:
      throw new ArgumentError(`has dtype ${t.dtype}`, { file, field: `tensor '${name}'`, expected: 'a floating dtype (F32, F16, BF16 or F64)' });
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
