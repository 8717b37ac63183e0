/**
 * 4-bit dequantize straight into a TF.js tensor, with the fastest kernel the active backend allows — one interface
 * for three implementations that give the same bits:
 *
 * - `wasm-fused`: TF.js's wasm backend. The SIMD kernel (dequant4bit.wat) is instantiated on the backend's own heap
 *   and writes the weight into the tensor the matmul then reads: no float32 copy of the weight exists anywhere else.
 * - `webgpu`: TF.js's WebGPU backend. A WGSL compute shader (webgpu.ts) expands the codes on the GPU.
 * - `cpu-copy`: any other backend. `dequantizePacked` (SIMD in a scratch memory, or the plain loop) fills a JS array
 *   that TF.js then uploads.
 *
 *   W[e] = code[nibble(e)] · absmax[e / blocksize]   (rounded to bf16 when the compute dtype is bfloat16)
 */
import * as tf from '@tensorflow/tfjs';
import { dequantizePacked } from '../blockwise4.js';
import { roundToBf16 } from '../bf16.js';
import { numel, stateAbsmax, type QuantState4bit } from '../quantize4bit.js';
import { Dequant4bitKernel, TABLE_BYTES, writeCodeTable } from './wasmSimd.js';
import { dequantize4bitWebGpu } from './webgpu.js';

export type DequantizeKernelName = 'wasm-fused' | 'webgpu' | 'cpu-copy';

/** The parts of TF.js's wasm backend the fused path uses (all public members of BackendWasm). */
interface WasmBackendLike {
  wasm: { asm?: { memory?: WebAssembly.Memory }; _malloc(bytes: number): number; _free(ptr: number): void };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
}

const kernels = new WeakMap<WebAssembly.Memory, Dequant4bitKernel | null>();

/** The SIMD kernel bound to the active wasm backend's heap, or null (another backend, or no SIMD). */
function fusedKernel(): { backend: WasmBackendLike; memory: WebAssembly.Memory; kernel: Dequant4bitKernel } | null {
  if (tf.getBackend() !== 'wasm') return null;
  const backend = tf.backend() as unknown as WasmBackendLike;
  const memory = backend.wasm?.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory) || typeof backend.makeOutput !== 'function') return null;
  if (!kernels.has(memory)) kernels.set(memory, Dequant4bitKernel.on(memory));
  const kernel = kernels.get(memory);
  return kernel ? { backend, memory, kernel } : null;
}

/** Which implementation `dequantizeToTensor` uses on the active backend. */
export function dequantizeKernelName(): DequantizeKernelName {
  if (tf.getBackend() === 'webgpu') return 'webgpu';
  return fusedKernel() ? 'wasm-fused' : 'cpu-copy';
}

function offsetOf(backend: WasmBackendLike, t: tf.TensorInfo): number {
  const d = backend.dataIdMap.get(t.dataId);
  if (!d) throw new Error('dequantizeToTensor: the wasm backend does not know the output tensor');
  return d.memoryOffset;
}

/** The dense [out, in] weight of a 2-D quant state as a float32 tensor, values in `dtype`. */
export function dequantizeToTensor(state: QuantState4bit, dtype: 'float32' | 'bfloat16' = 'bfloat16'): tf.Tensor2D {
  if (state.shape.length !== 2) throw new Error(`dequantizeToTensor: quant state shape [${state.shape.join(', ')}] is not 2-D`);
  const shape: [number, number] = [state.shape[0], state.shape[1]];
  const n = numel(state.shape);
  const absmax = stateAbsmax(state);
  const roundBf16 = dtype === 'bfloat16';
  if (tf.getBackend() === 'webgpu') return dequantize4bitWebGpu(state.packed, absmax, state.code, state.blocksize, shape, { roundBf16 });
  const fused = fusedKernel();
  if (!fused || state.blocksize % 2 !== 0) {
    return tf.tensor2d(dequantizePacked(state.packed, absmax, state.code, state.blocksize, n, undefined, { roundBf16 }), shape);
  }
  const { backend, memory, kernel } = fused;
  const nbytes = n >> 1;
  const blocks = Math.ceil(n / state.blocksize);
  // inputs: codebook table, absmax and packed codes in one temporary allocation on the backend's heap
  const absmaxAt = TABLE_BYTES;
  const packedAt = absmaxAt + 4 * blocks;
  const scratch = backend.wasm._malloc(packedAt + nbytes + 1);
  const info = backend.makeOutput(shape, 'float32');
  try {
    const heap = memory.buffer; // after both allocations: the heap may have grown
    writeCodeTable(heap, scratch, state.code);
    new Float32Array(heap, scratch + absmaxAt, blocks).set(absmax.subarray(0, blocks));
    new Uint8Array(heap, scratch + packedAt, nbytes).set(state.packed.subarray(0, nbytes));
    const out = offsetOf(backend, info);
    kernel.dequantize({ packed: scratch + packedAt, absmax: scratch + absmaxAt, table: scratch, out, nbytes, blocksize: state.blocksize, roundBf16 });
    if (n & 1) {
      const last = new Float32Array([state.code[state.packed[nbytes] >> 4] * absmax[blocks - 1]]);
      new Float32Array(heap, out + 4 * (n - 1), 1).set(roundBf16 ? roundToBf16(last) : last);
    }
  } finally {
    backend.wasm._free(scratch);
  }
  return tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor2D;
}

/**
 * A new float32 tensor holding `t`'s values rounded to bf16 (round to nearest even). On the wasm backend the SIMD
 * kernel rounds inside the heap; elsewhere the values make a round trip through JS.
 */
export function roundTensorToBf16<R extends tf.Rank>(t: tf.Tensor<R>): tf.Tensor<R> {
  if (t.dtype !== 'float32') throw new Error(`roundTensorToBf16: expected a float32 tensor, got ${t.dtype}`);
  const fused = fusedKernel();
  if (!fused) return tf.tensor(roundToBf16(t.dataSync() as Float32Array), t.shape, 'float32') as tf.Tensor<R>;
  const { backend, kernel } = fused;
  const info = backend.makeOutput([...t.shape], 'float32');
  kernel.roundBf16(offsetOf(backend, t), offsetOf(backend, info), t.size);
  return tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor<R>;
}
