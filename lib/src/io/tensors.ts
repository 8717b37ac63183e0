/** Typed views of safetensors tensors: raw little-endian bytes as the matching typed array. */
import type { Dtype } from './dtypes.js';
import type { RawTensor } from './safetensors.js';

export type TypedArrayFor =
  | Float32Array
  | Float64Array
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** Copy into a fresh, aligned buffer (file offsets need not be aligned to the element size). */
export function aligned(bytes: Uint8Array): ArrayBuffer {
  const b = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(b).set(bytes);
  return b;
}

/** Raw elements of a tensor as the matching typed array (BF16/F16 as Uint16Array bit patterns). */
export function typedView(t: RawTensor): TypedArrayFor {
  const b = aligned(t.data);
  switch (t.dtype) {
    case 'F32': return new Float32Array(b);
    case 'F64': return new Float64Array(b);
    case 'F16':
    case 'BF16':
    case 'U16': return new Uint16Array(b);
    case 'I16': return new Int16Array(b);
    case 'I32': return new Int32Array(b);
    case 'U32': return new Uint32Array(b);
    case 'I64': return new BigInt64Array(b);
    case 'U64': return new BigUint64Array(b);
    case 'I8': return new Int8Array(b);
    case 'U8':
    case 'BOOL':
    default: return new Uint8Array(b);
  }
}
