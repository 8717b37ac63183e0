/**
 * Tensors written in place on TF.js's wasm backend. `tf.tensor(values)` needs the values in a JavaScript array first,
 * which the backend then copies into its heap; for a large tensor made over and over (a chunk of the output head, a
 * dequantized weight) that array is a second copy and, once dropped, garbage the collector frees late. Here the tensor
 * is allocated in the heap and `fill` writes its values there directly. On any other backend it falls back to a
 * fresh array and `tf.tensor`.
 */
import * as tf from '@tensorflow/tfjs';
import { numel } from '../numerics/dtype.js';
import { assertInternal } from '../util/errors.js';

/** The parts of TF.js's wasm backend used here and by the fused 4-bit kernel (public members of BackendWasm). */
export interface WasmBackendLike {
  wasm: { asm?: { memory?: WebAssembly.Memory }; _malloc(bytes: number): number; _free(ptr: number): void };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
}

/** The active backend when it is TF.js's wasm backend with the members above, with its heap memory; else null. */
export function wasmHeap(): { backend: WasmBackendLike; memory: WebAssembly.Memory } | null {
  if (tf.getBackend() !== 'wasm') return null;
  const backend = tf.backend() as unknown as WasmBackendLike;
  const memory = backend.wasm?.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory) || typeof backend.makeOutput !== 'function') return null;
  return { backend, memory };
}

/** Byte offset of a wasm-backend tensor's values in the heap. */
export function heapOffset(backend: WasmBackendLike, t: tf.TensorInfo): number {
  const d = backend.dataIdMap.get(t.dataId);
  assertInternal(d, 'the wasm backend does not know this tensor');
  return d.memoryOffset;
}

/** A float32 tensor of `shape` whose values `fill` writes into the array it is given (in the heap on wasm). */
export function filledTensor<R extends tf.Rank>(shape: number[], fill: (out: Float32Array) => void): tf.Tensor<R> {
  const n = numel(shape);
  const heap = wasmHeap();
  if (!heap || n === 0) {
    const values = new Float32Array(n);
    fill(values);
    return tf.tensor<tf.Rank>(values, shape, 'float32') as tf.Tensor<R>;
  }
  const info = heap.backend.makeOutput(shape, 'float32');
  fill(new Float32Array(heap.memory.buffer, heapOffset(heap.backend, info), n));
  return tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor<R>;
}
