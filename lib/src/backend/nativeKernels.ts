/**
 * TF.js kernels on the wasm backend replaced by the native addon, working in place on the wasm heap: the operands are
 * read where TF.js keeps them and the result is written into the output tensor's memory, with no copy on either side.
 *
 * `BatchMatMul` runs the system's CBLAS `sgemm`. `Exp` is one threaded pass (TF.js's own is a scalar loop). `Identity`
 * shares its input's memory instead of copying it. Every case `tf.matMul` can ask for runs here — either operand transposed, any
 * batch shape with broadcasting (a batch dimension of 1 repeats) — where TF.js's own kernel takes its fast path only
 * for an untransposed product with batch 1.
 *
 *   out[i] = op(a[ia(i)]) · op(b[ib(i)]),  ia/ib: out's batch index mapped onto a's and b's broadcast batch shapes
 *
 * The heap can grow (allocating the output may move it to a new ArrayBuffer), so the buffer is read after the output
 * is allocated and no view of it is kept.
 */
import * as tf from '@tensorflow/tfjs';
import { numel } from '../numerics/dtype.js';
import { heapOffset, wasmHeap, type WasmBackendLike } from './heap.js';
import type { NativeAddon } from './native.js';
import { ShapeError } from '../util/errors.js';

interface MatMulArgs {
  inputs: { a: tf.TensorInfo; b: tf.TensorInfo };
  backend: WasmBackendLike;
  attrs: { transposeA: boolean; transposeB: boolean };
}


/**
 * For each batch index of the broadcast shape of `aBatch` and `bBatch`, the batch index into a and into b
 * (row-major, numpy broadcasting: dimensions align from the right and a 1 repeats). Cached per pair of shapes.
 */
export function batchIndices(aBatch: readonly number[], bBatch: readonly number[]): { shape: number[]; a: Int32Array; b: Int32Array } {
  const key = `${aBatch.join(',')}|${bBatch.join(',')}`;
  const hit = indexCache.get(key);
  if (hit) return hit;
  const shape = tf.broadcast_util.assertAndGetBroadcastShape(aBatch as number[], bBatch as number[]);
  const n = numel(shape);
  const a = new Int32Array(n);
  const b = new Int32Array(n);
  const rank = shape.length;
  for (let i = 0; i < n; i++) {
    // unravel i over `shape`, then ravel the same multi-index over each operand's (right-aligned) shape
    let rest = i;
    let ia = 0, ib = 0, sa = 1, sb = 1;
    for (let d = rank - 1; d >= 0; d--) {
      const idx = rest % shape[d];
      rest = Math.floor(rest / shape[d]);
      const da = aBatch[d - (rank - aBatch.length)] ?? 1;
      const db = bBatch[d - (rank - bBatch.length)] ?? 1;
      ia += (da === 1 ? 0 : idx) * sa;
      ib += (db === 1 ? 0 : idx) * sb;
      sa *= da;
      sb *= db;
    }
    a[i] = ia;
    b[i] = ib;
  }
  const r = { shape, a, b };
  if (indexCache.size > 256) indexCache.clear();
  indexCache.set(key, r);
  return r;
}
const indexCache = new Map<string, { shape: number[]; a: Int32Array; b: Int32Array }>();

/** The kernel function, for a given addon; `fallback` is TF.js's own kernel (non-float32 inputs, a shared heap). */
function nativeBatchMatMul(addon: NativeAddon, fallback: tf.KernelFunc) {
  return (args: MatMulArgs): tf.TensorInfo => {
    const { inputs: { a, b }, backend, attrs: { transposeA, transposeB } } = args;
    const memory = backend.wasm.asm?.memory;
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || !memory || !(memory.buffer instanceof ArrayBuffer)) {
      return fallback(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
    }
    const ra = a.shape.length;
    const rb = b.shape.length;
    const [aRows, aCols] = [a.shape[ra - 2], a.shape[ra - 1]];
    const [bRows, bCols] = [b.shape[rb - 2], b.shape[rb - 1]];
    const M = transposeA ? aCols : aRows;
    const K = transposeA ? aRows : aCols;
    const kb = transposeB ? bCols : bRows;
    const N = transposeB ? bRows : bCols;
    if (K !== kb) {
      throw new ShapeError(`inner dimensions ${K} and ${kb} of shapes [${a.shape}] and [${b.shape}] (transposeA=${transposeA}, transposeB=${transposeB}) do not match`, { file: 'matMul' });
    }
    const idx = batchIndices(a.shape.slice(0, -2), b.shape.slice(0, -2));
    const batch = numel(idx.shape);
    const out = backend.makeOutput([...idx.shape, M, N], 'float32');
    if (batch * M * N === 0) return out;
    const trivial = batch === 1;
    // read the buffer only now: makeOutput may have grown the heap
    addon.sgemm(memory.buffer as ArrayBuffer, transposeA, transposeB, M, N, K, heapOffset(backend, a), heapOffset(backend, b), heapOffset(backend, out), batch,
      trivial ? undefined : idx.a, trivial ? undefined : idx.b);
    return out;
  };
}

/** An element-wise TF.js kernel (one float32 input x, output of its shape) run by the addon on the wasm heap. */
function nativeUnary(run: (addon: NativeAddon, heap: ArrayBuffer, x: number, y: number, n: number) => void) {
  return (addon: NativeAddon, fallback: tf.KernelFunc) => (args: { inputs: { x: tf.TensorInfo }; backend: WasmBackendLike }): tf.TensorInfo => {
    const { inputs: { x }, backend } = args;
    const memory = backend.wasm.asm?.memory;
    if (x.dtype !== 'float32' || !memory || !(memory.buffer instanceof ArrayBuffer)) return fallback(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
    const out = backend.makeOutput([...x.shape], 'float32');
    const n = numel(x.shape);
    if (n > 0) run(addon, memory.buffer as ArrayBuffer, heapOffset(backend, x), heapOffset(backend, out), n);
    return out;
  };
}

/**
 * Identity without a copy: the output shares the input's memory and the backend counts one more reference, as TF.js's
 * cpu backend does (its wasm backend copies). Safe because no kernel writes into an input. A training step makes
 * about 700 (gemma-micro) to 1,350 (253M) of them — autodiff's pass-through gradients, tidy's kept results.
 */
function sharedIdentity(_addon: NativeAddon, fallback: tf.KernelFunc) {
  return (args: { inputs: { x: tf.TensorInfo }; backend: WasmBackendLike & { incRef(dataId: object): void } }): tf.TensorInfo => {
    const { inputs: { x }, backend } = args;
    if (x.dtype === 'string' || typeof backend.incRef !== 'function') return fallback(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
}

/** The TF.js kernels the addon replaces on the wasm backend. */
const NATIVE_KERNELS: { name: string; make: (addon: NativeAddon, fallback: tf.KernelFunc) => unknown }[] = [
  { name: 'BatchMatMul', make: nativeBatchMatMul },
  { name: 'Exp', make: nativeUnary((addon, heap, x, y, n) => addon.exp(heap, x, y, n)) },
  { name: 'Identity', make: sharedIdentity },
];

let installed: tf.KernelConfig[] | null = null;
let known: NativeAddon | null = null;

/**
 * Register (on = true) or unregister the native kernels (BatchMatMul, Exp, Identity) on the wasm backend; returns whether they
 * are active. The wasm backend must be the active one and already started (its heap exists). The addon, once given
 * (initBackend gives it), is remembered, so that a benchmark or a test can switch the kernels off and on again.
 */
export function setNativeKernels(on: boolean, addon: NativeAddon | null = known): boolean {
  if (!on) {
    if (installed) {
      for (const original of installed) {
        tf.unregisterKernel(original.kernelName, 'wasm');
        tf.registerKernel(original);
      }
      installed = null;
    }
    return false;
  }
  if (installed) return true;
  if (!addon || !wasmHeap()) return false;
  const originals = NATIVE_KERNELS.map((k) => tf.getKernel(k.name, 'wasm'));
  if (originals.some((o) => !o)) return false;
  NATIVE_KERNELS.forEach((k, i) => {
    tf.unregisterKernel(k.name, 'wasm');
    tf.registerKernel({ kernelName: k.name, backendName: 'wasm', kernelFunc: k.make(addon, originals[i].kernelFunc) as tf.KernelFunc });
  });
  installed = originals;
  known = addon;
  return true;
}

/** True while the wasm backend runs the native kernels (and the wasm backend is the active one). */
export function nativeKernelsActive(): boolean {
  return installed !== null && tf.getBackend() === 'wasm';
}

/** The addon while the native kernels are on, for the native ops that are not TF.js kernels (nativeOps.ts); else null. */
export function activeNativeAddon(): NativeAddon | null {
  return nativeKernelsActive() ? known : null;
}
