/**
 * Element-wise ops run by the native addon on the wasm heap, in place of chains of TF.js kernels, each with its own
 * gradient. Each returns null where the native kernels are off (then the caller computes the same function with
 * TF.js ops: the reference).
 *
 * bf16Tensor: a frozen bf16 table's rows (the tied output head, a chunk per matmul) expanded into a new tensor in the
 * heap by one threaded pass, where the JavaScript loop was 17 % of a 253M-parameter step.
 *
 * geluTanh: TF.js spends a Pow, a Tanh and five Multiply/Add kernels (and their gradients) on tanh-GELU; here forward
 * is one pass over x and backward one pass over (x, dy), split over the cores.
 */
import * as tf from '@tensorflow/tfjs';
import { heapOffset, wasmHeap } from './heap.js';
import { activeNativeAddon } from './nativeKernels.js';
import type { NativeAddon } from './native.js';
import type { DoubleQuantState } from '../quant/doubleQuant.js';
import { CACHED_PIECE_ELEMENTS, MAX_KEPT_LOGITS } from './nativePieces.js';

/** A new float32 tensor of `shape`, written by `write(heap, outOffset)` after it is allocated in the heap. */
function heapTensor<R extends tf.Rank>(shape: number[], write: (heap: ArrayBuffer, out: number) => void): tf.Tensor<R> {
  const { backend, memory } = wasmHeap()!;
  const info = backend.makeOutput(shape, 'float32');
  // the buffer is read after the allocation, which may have grown the heap
  if (shape.every((d) => d > 0)) write(memory.buffer as ArrayBuffer, heapOffset(backend, info));
  return tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor<R>;
}

const heapOutput = (like: tf.Tensor, write: (heap: ArrayBuffer, out: number) => void) => heapTensor([...like.shape], write);

/** The addon while the native kernels are on and the wasm heap is a plain (unshared) buffer, else null. */
function nativeAddon(): NativeAddon | null {
  const addon = activeNativeAddon();
  return addon && wasmHeap()?.memory.buffer instanceof ArrayBuffer ? addon : null;
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
  const addon = nativeAddon();
  return addon && x.dtype === 'float32' ? geluWith(addon, x) : null;
}

/**
 * A float32 tensor [rows, cols] holding the bf16 patterns src[start, start + rows·cols) expanded exactly, written by
 * the addon straight into the heap; null where the native kernels are off.
 */
export function nativeBf16Tensor(src: Uint16Array, start: number, shape: [number, number]): tf.Tensor2D | null {
  const addon = nativeAddon();
  return addon && heapTensor<tf.Rank.R2>(shape, (heap, out) => addon.bf16ToF32(src, start, heap, out, shape[0] * shape[1]));
}

/**
 * n 4-bit codes dequantized by the addon into a new float32 tensor of `shape` in the heap (bf16-rounded values when
 * `roundBf16`); null where the native kernels are off or the blocksize is odd.
 */
export function nativeDequantize4bit(packed: Uint8Array, absmax: Float32Array, code: Float32Array, blocksize: number, shape: [number, number], roundBf16: boolean): tf.Tensor2D | null {
  const addon = blocksize % 2 === 0 ? nativeAddon() : null;
  return addon && heapTensor<tf.Rank.R2>(shape, (heap, out) => addon.dequant4bit(packed, absmax, code, blocksize, shape[0] * shape[1], heap, out, roundBf16));
}

/**
 * A 4-bit state's absmax with double quantization undone by the addon (one threaded pass; the JavaScript loop was 7 %
 * of a 253M-parameter QLoRA step), the same bits as quant's `recoverAbsmax`; null where the native kernels are off.
 */
export function nativeRecoverAbsmax(dq: DoubleQuantState, into?: Float32Array): Float32Array | null {
  const addon = activeNativeAddon();
  if (!addon) return null;
  // into: a buffer to reuse (its first qabsmax.length values are written and returned), else a new array
  const out = into && into.length >= dq.qabsmax.length ? into.subarray(0, dq.qabsmax.length) : new Float32Array(dq.qabsmax.length);
  addon.recoverAbsmax(dq.qabsmax, dq.nestedAbsmax, dq.nestedCode, dq.nestedBlocksize, dq.offset, out);
  return out;
}

/**
 * The causal LM loss of final hidden states h [B, T, d] through a frozen tied head (its host table), with its gradient
 * computed in the same native call and kept for the backward (the head is the last op, so dL/dh is known once the
 * loss is): `targets` [B·T] holds the id each position predicts, −1 where none counts; `maxLogits` bounds the logits
 * held at once (tests use a small one to cover the chunked path). Null where the kernels are off.
 */
export function nativeHeadLoss(h: tf.Tensor3D, table: Float32Array | Uint16Array, V: number, targets: Int32Array, count: number, opts: { maxLogits?: number } = {}): tf.Scalar | null {
  const addon = nativeAddon();
  if (!addon || h.dtype !== 'float32') return null;
  const [B, T, d] = h.shape;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [hIn, save] = args as [tf.Tensor3D, tf.GradSaveFunc];
    let loss = 0;
    const dh = heapTensor<tf.Rank.R3>([B, T, d], (heap, out) => {
      loss = addon.headLoss(heap, offset(hIn), B * T, d, table, V, targets, count, out, opts.maxLogits ?? MAX_KEPT_LOGITS, CACHED_PIECE_ELEMENTS);
    });
    save([dh]);
    return { value: tf.scalar(loss), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => saved[0].mul(dy) };
  });
  return op(h) as tf.Scalar;
}

/** One tensor's part in a native AdamW step: the parameter, its gradient and the optimizer's two moments. */
export interface AdamWSlot {
  param: tf.Tensor;
  grad: tf.Tensor;
  m: tf.Tensor;
  v: tf.Tensor;
}

/** AdamW's constants as the addon takes them (native/src/optim.cc); bc1, bc2 are the bias corrections 1 − β^t. */
export interface AdamWConstants {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  bc1: number;
  bc2: number;
  /** every gradient is multiplied by this first (1: not at all) — the global-norm clip's scale */
  gradScale: number;
}

const isHeapFloat = (t: tf.Tensor) => t.dtype === 'float32';

/**
 * One AdamW update of every slot in one native call, the same float32 operations in the same order as train/optim.ts's
 * TF.js update (so the same bits): m and v are updated in place, and each parameter's new value is returned as a
 * new tensor for the caller to assign. Null where the native kernels are off or a tensor is not float32.
 */
export function nativeAdamW(slots: AdamWSlot[], c: AdamWConstants): tf.Tensor[] | null {
  const addon = nativeAddon();
  if (!addon || !slots.every((s) => [s.param, s.grad, s.m, s.v].every(isHeapFloat))) return null;
  const outs = slots.map((s) => wasmHeap()!.backend.makeOutput([...s.param.shape], 'float32'));
  // the offsets are read after every allocation, which may have grown the heap
  const desc = new Float64Array(slots.length * 6);
  slots.forEach((s, i) => desc.set([offset(s.param), heapOffset(wasmHeap()!.backend, outs[i]), offset(s.grad), offset(s.m), offset(s.v), s.param.size], i * 6));
  addon.adamw(wasmHeap()!.memory.buffer as ArrayBuffer, desc, Float64Array.of(c.lr, c.beta1, c.beta2, c.eps, c.weightDecay, c.bc1, c.bc2, c.gradScale));
  return outs.map((info) => tf.engine().makeTensorFromTensorInfo(info));
}

/** Σ g² over the tensors, accumulated in double by one native call; null where the native kernels are off. */
export function nativeSumSquares(tensors: tf.Tensor[]): number | null {
  const addon = nativeAddon();
  if (!addon || !tensors.every(isHeapFloat)) return null;
  return addon.sumSquares(wasmHeap()!.memory.buffer as ArrayBuffer, Float64Array.from(tensors.flatMap((t) => [offset(t), t.size])));
}
