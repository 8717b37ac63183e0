/**
 * Element-wise ops run by the native addon on the wasm heap, in place of chains of TF.js kernels, each with its own
 * gradient. Each returns null where the native kernels are off (then the caller computes the same function with
 * TF.js ops: the reference).
 *
 * geluTanh: TF.js spends a Pow, a Tanh and five Multiply/Add kernels (and their gradients) on tanh-GELU; here forward
 * is one pass over x and backward one pass over (x, dy), split over the cores.
 */
import * as tf from '@tensorflow/tfjs';
import { heapOffset, wasmHeap } from './heap.js';
import { activeNativeAddon } from './nativeKernels.js';
import type { NativeAddon } from './native.js';

/** A new float32 tensor of `like`'s shape, written by `write(heap, outOffset)` after it is allocated in the heap. */
function heapOutput(like: tf.Tensor, write: (heap: ArrayBuffer, out: number) => void): tf.Tensor {
  const { backend, memory } = wasmHeap()!;
  const info = backend.makeOutput([...like.shape], 'float32');
  // the buffer is read after the allocation, which may have grown the heap
  if (like.size > 0) write(memory.buffer as ArrayBuffer, heapOffset(backend, info));
  return tf.engine().makeTensorFromTensorInfo(info);
}

const offset = (t: tf.Tensor) => heapOffset(wasmHeap()!.backend, t);

function geluWith(addon: NativeAddon, x: tf.Tensor): tf.Tensor {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xIn, save] = args as [tf.Tensor, tf.GradSaveFunc];
    save([xIn]);
    return {
      value: heapOutput(xIn, (heap, y) => addon.geluTanh(heap, offset(xIn), y, xIn.size)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => heapOutput(saved[0], (heap, dx) => addon.geluTanhGrad(heap, offset(saved[0]), offset(dy), dx, dy.size)),
    };
  });
  return op(x) as tf.Tensor;
}

/** tanh-GELU of a float32 tensor by the native addon, or null where the native kernels are off. */
export function nativeGeluTanh(x: tf.Tensor): tf.Tensor | null {
  const addon = activeNativeAddon();
  if (!addon || x.dtype !== 'float32' || !(wasmHeap()?.memory.buffer instanceof ArrayBuffer)) return null;
  return geluWith(addon, x);
}
