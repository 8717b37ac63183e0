/**
 * 4-bit dequantize straight into a TF.js tensor, by the kernel the kernel table (kernels.ts) names for the active
 * backend — one interface for four implementations that give the same bits:
 *
 * - `native`: TF.js's wasm backend with LoRA Lab's native addon. One threaded pass (AVX2 where the CPU has it) reads
 *   the codes and absmax where they are, in JavaScript memory, and writes the tensor in the heap: nothing is staged.
 * - `wasm-fused`: TF.js's wasm backend. The SIMD kernel (quant/kernels/dequant4bit.wat) is instantiated on the
 *   backend's own heap and writes the weight into the tensor the matmul then reads: no float32 copy of the weight
 *   exists anywhere else.
 * - `webgpu`: TF.js's WebGPU backend. A WGSL compute shader (quant/kernels/webgpu.ts) expands the codes on the GPU,
 *   from the packed weight kept there (`residentQuantState`, made once per layer) when the caller has one.
 * - `cpu-copy`: any other backend. `dequantizePacked` (SIMD in a scratch memory, or the plain loop) fills a JS array
 *   that TF.js then uploads.
 *
 *   W[e] = code[nibble(e)] · absmax[e / blocksize]   (rounded to bf16 when the compute dtype is bfloat16)
 */
import * as tf from '@tensorflow/tfjs';
import { numel } from '../numerics/dtype.js';
import { dequantizePacked, registerPackedDequantizer } from '../quant/blockwise4.js';
import { roundToBf16 } from '../numerics/bf16.js';
import { stateAbsmax, type QuantState4bit } from '../quant/quantize4bit.js';
import { Dequant4bitKernel, dequantizePackedSimd, lastOddValue, stagingBytes } from '../quant/kernels/wasmSimd.js';
import { dequantize4bitWebGpu, dequantizeResident4bit, roundToBf16WebGpu, uploadPacked4bit, type ResidentPacked4bit } from '../quant/kernels/webgpu.js';
import { filledTensor, heapOffset, wasmHeap, type WasmBackendLike } from './heap.js';
import { nativeDequantize4bit, nativeRecoverAbsmax } from './nativeOps.js';
import { KERNEL_TABLE, kernelBackend, type DequantizeKernelName } from './kernels.js';
import { ArgumentError, ShapeError, shapeText } from '../util/errors.js';

/** Below this many elements the plain loop is as fast as copying into the SIMD kernel's memory and back. */
const SIMD_MIN_ELEMENTS = 4096;

// `dequantizePacked` into a JavaScript array (quant's reference entry point, used by dequantize4bit and the cpu-copy
// row): the WebAssembly SIMD kernel in its own scratch memory, on every backend
registerPackedDequantizer((packed, absmax, code, blocksize, n, out, opts) =>
  n >= SIMD_MIN_ELEMENTS ? dequantizePackedSimd(packed, absmax, code, blocksize, n, out, opts) : null);

const kernels = new WeakMap<WebAssembly.Memory, Dequant4bitKernel | null>();

/** The SIMD kernel bound to the active wasm backend's heap, or null (another backend, or no SIMD). */
function fusedKernel(): { backend: WasmBackendLike; memory: WebAssembly.Memory; kernel: Dequant4bitKernel } | null {
  const heap = wasmHeap();
  if (!heap) return null;
  if (!kernels.has(heap.memory)) kernels.set(heap.memory, Dequant4bitKernel.on(heap.memory));
  const kernel = kernels.get(heap.memory);
  return kernel ? { ...heap, kernel } : null;
}

/**
 * A state's absmax (double quantization undone), by the addon where it is on: the same bits as `stateAbsmax`. With
 * `into` (long enough), the addon writes it there and returns that view, so that a caller that recovers the same
 * absmax at every step (the fused layer) allocates nothing.
 */
export function recoveredAbsmax(state: QuantState4bit, into?: Float32Array): Float32Array {
  return (state.doubleQuant && nativeRecoverAbsmax(state.doubleQuant, into)) || stateAbsmax(state);
}

/** Which implementation `dequantizeToTensor` uses on the active backend: the kernel table's, where it can run here. */
export function dequantizeKernelName(blocksize = 64): DequantizeKernelName {
  const k = KERNEL_TABLE[kernelBackend()].dequantize;
  // both heap kernels work on whole bytes, so an odd blocksize (no bitsandbytes format has one) takes the copy path
  if (k === 'native') return blocksize % 2 === 0 ? k : 'cpu-copy';
  if (k === 'wasm-fused') return blocksize % 2 === 0 && fusedKernel() ? k : 'cpu-copy';
  return k;
}

/**
 * A 2-D quant state's packed bytes, absmax (double quantization undone) and codebook uploaded to the active 'webgpu'
 * backend once, kept out of every tidy scope: `dequantizeToTensor` then expands any row range of it on the GPU with
 * nothing crossing from the CPU. The caller owns it (`disposeResident`). Null on any other backend.
 */
export function residentQuantState(state: QuantState4bit, absmax: Float32Array = stateAbsmax(state)): ResidentPacked4bit | null {
  if (dequantizeKernelName(state.blocksize) !== 'webgpu') return null;
  const n = numel(state.shape);
  const r = uploadPacked4bit(state.packed, absmax, state.code, state.blocksize, n);
  tf.keep(r.words);
  tf.keep(r.absmax);
  tf.keep(r.code);
  return r;
}

export function disposeResident(r: ResidentPacked4bit | null): void {
  if (r) tf.dispose([r.words, r.absmax, r.code]);
}

/**
 * Rows [r0, r1) of the dense [out, in] weight of a 2-D quant state (all rows by default) as a float32 tensor, values
 * in `dtype`. A row range must start on a block boundary (r0 · in a multiple of the blocksize): see `rowChunks`.
 * `absmax` may be passed in when the caller has already recovered it from double quantization; `resident`, the state
 * already on the GPU (`residentQuantState`), is used by the webgpu kernel instead of uploading the codes again.
 */
export function dequantizeToTensor(
  state: QuantState4bit,
  dtype: 'float32' | 'bfloat16' = 'bfloat16',
  rows?: readonly [number, number],
  absmaxAll?: Float32Array,
  resident: ResidentPacked4bit | null = null,
): tf.Tensor2D {
  if (state.shape.length !== 2) throw new ShapeError(`is ${shapeText(state.shape)}`, { file: 'dequantizeToTensor', field: 'state.shape', expected: '2-D [out, in]' });
  const [outF, inF] = state.shape;
  const [r0, r1] = rows ?? [0, outF];
  const e0 = r0 * inF;
  if (!(r0 >= 0 && r1 <= outF && r0 < r1) || e0 % state.blocksize !== 0 || e0 % 2 !== 0) {
    throw new ShapeError(`[${r0}, ${r1}) of [${outF}, ${inF}] do not start on a block boundary (blocksize ${state.blocksize})`, { file: 'dequantizeToTensor', field: 'rows', expected: `0 <= start < end <= ${outF}, start · ${inF} a multiple of the blocksize` });
  }
  const shape: [number, number] = [r1 - r0, inF];
  const n = shape[0] * inF;
  const roundBf16 = dtype === 'bfloat16';
  const kernelName = dequantizeKernelName(state.blocksize);
  if (kernelName === 'webgpu' && resident) return dequantizeResident4bit(resident, shape, { roundBf16, offset: e0 });
  const absmaxWhole = absmaxAll ?? recoveredAbsmax(state);
  const packedAll = e0 === 0 ? state.packed : state.packed.subarray(e0 / 2);
  const absmax = e0 === 0 ? absmaxWhole : absmaxWhole.subarray(e0 / state.blocksize);
  switch (kernelName) {
    case 'native': {
      const t = nativeDequantize4bit(packedAll, absmax, state.code, state.blocksize, shape, roundBf16);
      if (t) return t;
      break;
    }
    case 'webgpu':
      return dequantize4bitWebGpu(packedAll, absmax, state.code, state.blocksize, shape, { roundBf16 });
    case 'cpu-copy':
      return tf.tensor2d(dequantizePacked(packedAll, absmax, state.code, state.blocksize, n, undefined, { roundBf16 }), shape);
    case 'wasm-fused':
      break;
  }
  // wasm-fused (and native, had the addon gone away between the choice and the call)
  const { backend, kernel } = fusedKernel()!;
  const nbytes = n >> 1;
  // the codes and absmax are staged in a temporary allocation on the heap; the tensor is allocated after it, so the
  // view `filledTensor` hands over stays valid while the kernel writes it
  const scratch = backend.wasm._malloc(stagingBytes(nbytes, state.blocksize));
  try {
    return filledTensor<tf.Rank.R2>(shape, (out) => {
      kernel.run({ at: scratch, out: out.byteOffset, packed: packedAll, absmax, code: state.code, nbytes, blocksize: state.blocksize, roundBf16 });
      if (n & 1) out[n - 1] = lastOddValue(packedAll, absmax, state.code, state.blocksize, n, roundBf16);
    });
  } finally {
    backend.wasm._free(scratch);
  }
}

/**
 * Row ranges that cut an [out, in] weight into pieces of at most `maxElements` values, each starting on a block
 * boundary, so that a layer can dequantize and multiply piece by piece and never hold its whole dense weight.
 */
export function rowChunks(outF: number, inF: number, blocksize: number, maxElements: number): [number, number][] {
  // the smallest row count whose element count is a multiple of the blocksize (and even)
  const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);
  const unit = Math.max(1, lcm(blocksize, 2) / gcd(inF, lcm(blocksize, 2)));
  const step = Math.max(unit, Math.floor(maxElements / inF / unit) * unit);
  const out: [number, number][] = [];
  for (let r = 0; r < outF; r += step) out.push([r, Math.min(outF, r + step)]);
  return out;

  function lcm(a: number, b: number): number {
    return (a / gcd(a, b)) * b;
  }
}

/**
 * A new float32 tensor holding `t`'s values rounded to bf16 (round to nearest even). On the wasm backend the SIMD
 * kernel rounds inside the heap; on webgpu a WGSL shader rounds on the GPU; elsewhere the values make a round trip
 * through JS.
 */
export function roundTensorToBf16<R extends tf.Rank>(t: tf.Tensor<R>): tf.Tensor<R> {
  if (t.dtype !== 'float32') throw new ArgumentError(`got a ${t.dtype} tensor`, { file: 'roundTensorToBf16', field: 't', expected: 'a float32 tensor' });
  if (kernelBackend() === 'webgpu') return roundToBf16WebGpu(t);
  const fused = fusedKernel();
  if (!fused) return tf.tensor(roundToBf16(t.dataSync() as Float32Array), t.shape, 'float32') as tf.Tensor<R>;
  return filledTensor<R>([...t.shape], (out) => fused.kernel.roundBf16(heapOffset(fused.backend, t), out.byteOffset, t.size));
}
