/**
 * NF4 / FP4 dequantization as a WebGPU compute shader (WGSL), run through TF.js's WebGPU backend.
 *
 * What it computes, for every element e < n of a weight stored the way bitsandbytes stores it:
 *
 *   byte     = packed[e >> 1]                                 (two codes per byte)
 *   nibble   = e even ? byte >> 4 : byte & 0xf                (element 2j in the HIGH nibble of byte j, 2j+1 in the low)
 *   x̂[e]     = code[nibble] * absmax[floor(e / blocksize)]     (float32 multiply, one absmax per block)
 *   if roundBf16:  x̂[e] = RNE(x̂[e]) to bfloat16               bits = (bits + 0x7fff + ((bits >> 16) & 1)) & 0xffff0000
 *
 * Why on the GPU: a QLoRA forward pass dequantizes every frozen 4-bit weight before its matmul; doing it in a shader
 * keeps the weight on the device (4.5 bits per parameter uploaded instead of 32) and the CPU out of the loop. Why this
 * exact formula: it is bitsandbytes' `dequantize_4bit` (and LoRA Lab's CPU `dequantizePacked`, then `roundToBf16` when
 * the state's dtype is bfloat16). WGSL's f32 `*` is correctly rounded, so the result is bit-identical to the CPU kernel
 * — with one exception WGSL permits: subnormal f32 values may be flushed to zero. So a product below 2^-126 (≈1.2e-38)
 * can come back as ±0 where the CPU keeps a subnormal (Chromium's SwiftShader adapter does flush); that needs a block
 * whose absmax is under ~1.5e-37. All-zero blocks are unaffected: their codes are the exact zero (0 × 1e-38 = 0).
 *
 * Layout on the GPU: the packed bytes are uploaded as an int32 tensor (four bytes per word, little-endian, as WebGPU
 * buffers are; the tail padded with zeros), absmax and the 16-entry codebook as float32 tensors; blocksize and the
 * first element's offset are uniforms (a layer keeps the upload and dequantizes row ranges of it); the output is a
 * float32 tensor of the requested 2-D shape.
 *
 * The active TF.js backend must be 'webgpu'. This module only imports the types of @tensorflow/tfjs-backend-webgpu;
 * registering that backend (`await import('@tensorflow/tfjs-backend-webgpu')`, as `initBackend` does) and switching to
 * it are the caller's business, so the package is never loaded for users of other backends.
 */
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend, WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import { QuantizationError } from '../errors.js';
import { numel } from '../../numerics/dtype.js';
import { ArgumentError, shapeText } from '../../util/errors.js';

/** Threads per workgroup (TF.js's element-wise programs use 64–128). */
const WORKGROUP_X = 128;

/**
 * WGSL: round a float32 to the nearest bfloat16 value (ties to even), kept as f32; NaN -> 0x7fc0 as PyTorch does.
 * The same integer arithmetic as quant/bf16.ts `toBf16`, so the bits agree with the CPU wherever the input is not a
 * subnormal (which WGSL lets an f32 load flush to zero).
 */
export const ROUND_BF16_WGSL = `
      fn roundToBf16(v : f32) -> f32 {
        let bits = bitcast<u32>(v);
        var rounded = (bits + 0x7fffu + ((bits >> 16u) & 1u)) & 0xffff0000u;
        if ((bits & 0x7fffffffu) > 0x7f800000u) {
          rounded = 0x7fc00000u;
        }
        return bitcast<f32>(rounded);
      }
`;

/**
 * The WGSL body of the kernel, as TF.js's WebGPU backend wants it: `main(index)` is called once per output element
 * with the flat output index; TF.js prepends the storage bindings (`words: array<i32>`, `absmax: array<f32>`,
 * `codebook: array<f32>`, `result`), the `uniforms` struct (with `size` and our `blocksize`) and `setOutputAtIndex`.
 */
export function dequantize4bitWgsl(opts: { roundBf16: boolean }): string {
  return `${ROUND_BF16_WGSL}
      // Element e's 4-bit code: byte e/2 of the little-endian word stream, high nibble for even e.
      fn nibbleAt(e : i32) -> u32 {
        let j = e >> 1;
        let word = bitcast<u32>(words[j >> 2]);
        let shift = u32((j & 3) * 8) + select(4u, 0u, (e & 1) == 1);
        return (word >> shift) & 0xfu;
      }

      fn main(index : i32) {
        if (index < uniforms.size) {
          let e = index + uniforms.offset;
          let v = codebook[nibbleAt(e)] * absmax[e / uniforms.blocksize];
          setOutputAtIndex(index, ${opts.roundBf16 ? 'roundToBf16(v)' : 'v'});
        }
      }
  `;
}

/** The TF.js WebGPU program: one thread per output element, flat dispatch, like TF.js's unary ops. */
export class Dequantize4bitProgram implements WebGPUProgram {
  variableNames = ['words', 'absmax', 'codebook'];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WORKGROUP_X, 1, 1];
  /** `offset`: the first element's index in the whole weight, so that a row range reads the resident buffers as they are. */
  uniforms = 'blocksize : i32, offset : i32,';
  size = true;
  private readonly roundBf16: boolean;

  constructor(shape: readonly [number, number], roundBf16: boolean) {
    this.outputShape = [shape[0], shape[1]];
    this.dispatchLayout = { x: [0, 1] };
    this.dispatch = [Math.ceil((shape[0] * shape[1]) / WORKGROUP_X), 1, 1];
    this.roundBf16 = roundBf16;
    // The pipeline cache key: TF.js appends the input/output ranks and dtypes.
    this.shaderKey = `loralab_dequantize4bit_${roundBf16 ? 'bf16' : 'f32'}`;
  }

  getUserCode(): string {
    return dequantize4bitWgsl({ roundBf16: this.roundBf16 });
  }
}

/** The packed bytes as int32 words (little-endian, zero-padded to a multiple of 4 bytes). */
export function packedToWords(packed: Uint8Array, bytes: number = packed.length): Int32Array {
  const words = new Int32Array(Math.max(1, Math.ceil(bytes / 4)));
  if (new Uint8Array(new Uint32Array([1]).buffer)[0] === 1) {
    new Uint8Array(words.buffer).set(packed.subarray(0, bytes));
  } else {
    for (let j = 0; j < bytes; j++) words[j >> 2] |= packed[j] << (8 * (j & 3));
  }
  return words;
}

function activeWebGpuBackend(): WebGPUBackend {
  const name = tf.getBackend();
  const backend = tf.backend() as Partial<WebGPUBackend> | undefined;
  if (name !== 'webgpu' || typeof backend?.runWebGPUProgram !== 'function') {
    throw new ArgumentError(
      `dequantize4bitWebGpu needs TF.js's 'webgpu' backend to be active, but it is '${String(name)}'`,
      { expected: "import '@tensorflow/tfjs-backend-webgpu' and await tf.setBackend('webgpu') first (it needs a WebGPU adapter)" },
    );
  }
  return backend as WebGPUBackend;
}

/**
 * A 4-bit weight resident on the GPU: its packed bytes as int32 words, its absmax (double quantization already undone)
 * and its 16-entry codebook, uploaded once. Whoever made it disposes it.
 */
export interface ResidentPacked4bit {
  words: tf.Tensor1D;
  absmax: tf.Tensor1D;
  code: tf.Tensor1D;
  /** Elements the weight holds. */
  numel: number;
  blocksize: number;
}

function checkPacked(packed: Uint8Array, absmax: Float32Array, code: Float32Array, blocksize: number, n: number): void {
  if (!Number.isInteger(blocksize) || blocksize < 1) throw new QuantizationError(`blocksize must be a positive integer (got ${blocksize})`);
  if (code.length !== 16) throw new QuantizationError(`a 4-bit codebook has 16 entries (got ${code.length})`);
  const bytes = Math.ceil(n / 2);
  if (packed.length < bytes) throw new QuantizationError(`packed weight has ${packed.length} bytes, ${bytes} are needed for ${n} elements`);
  const blocks = Math.ceil(n / blocksize);
  if (absmax.length < blocks) {
    throw new QuantizationError(`absmax has ${absmax.length} blocks, ${blocks} are needed for ${n} elements at blocksize ${blocksize}`);
  }
}

/** Upload the first `n` elements of a 4-bit weight to the active 'webgpu' backend (4.5 bits a value, not 32). */
export function uploadPacked4bit(packed: Uint8Array, absmax: Float32Array, code: Float32Array, blocksize: number, n: number): ResidentPacked4bit {
  activeWebGpuBackend();
  if (!Number.isInteger(n) || n < 0) throw new QuantizationError(`element count must be a non-negative integer (got ${n})`);
  checkPacked(packed, absmax, code, blocksize, n);
  const blocks = Math.max(1, Math.ceil(n / blocksize));
  return {
    words: tf.tensor1d(packedToWords(packed, Math.ceil(n / 2)), 'int32'),
    absmax: tf.tensor1d(absmax.length === blocks ? absmax : absmax.subarray(0, blocks), 'float32'),
    code: tf.tensor1d(code, 'float32'),
    numel: n,
    blocksize,
  };
}

/**
 * Dequantize elements [offset, offset + rows·cols) of a resident 4-bit weight into a float32 tensor of `shape`, on the
 * GPU: `x̂[e] = code[nibble(e)] * absmax[e / blocksize]`, optionally rounded to bfloat16. Nothing crosses to the CPU.
 */
export function dequantizeResident4bit(w: ResidentPacked4bit, shape: readonly [number, number], opts: { roundBf16: boolean; offset?: number }): tf.Tensor2D {
  const backend = activeWebGpuBackend();
  const [rows, cols] = shape;
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw new QuantizationError(`shape must be two non-negative integers (got ${shapeText(shape)})`);
  }
  const offset = opts.offset ?? 0;
  const n = rows * cols;
  if (!Number.isInteger(offset) || offset < 0 || offset + n > w.numel) {
    throw new QuantizationError(`elements [${offset}, ${offset + n}) are outside the resident weight's ${w.numel}`);
  }
  if (n === 0) return tf.zeros([rows, cols], 'float32') as tf.Tensor2D;
  const program = new Dequantize4bitProgram([rows, cols], opts.roundBf16);
  const uniforms = [{ type: 'int32', data: [w.blocksize] }, { type: 'int32', data: [offset] }];
  const info = backend.runWebGPUProgram(program, [w.words, w.absmax, w.code], 'float32', uniforms);
  return tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor2D;
}

/**
 * Dequantize a 4-bit (NF4/FP4) weight on the GPU: `x̂[e] = code[nibble(e)] * absmax[e / blocksize]`, optionally rounded
 * to bfloat16, returned as a float32 tensor of `shape` on the active 'webgpu' backend. Bit-identical to
 * `dequantizePacked` (then `roundToBf16`). Uploads the weight for this one call; a layer that multiplies by it again
 * keeps it resident instead (`uploadPacked4bit`, `dequantizeResident4bit`).
 */
export function dequantize4bitWebGpu(
  packed: Uint8Array,
  absmax: Float32Array,
  code: Float32Array,
  blocksize: number,
  shape: readonly [number, number],
  opts: { roundBf16: boolean },
): tf.Tensor2D {
  activeWebGpuBackend();
  const [rows, cols] = shape;
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw new QuantizationError(`shape must be two non-negative integers (got ${shapeText(shape)})`);
  }
  const n = rows * cols;
  checkPacked(packed, absmax, code, blocksize, n);
  if (n === 0) return tf.zeros([rows, cols], 'float32') as tf.Tensor2D;
  const w = uploadPacked4bit(packed, absmax, code, blocksize, n);
  try {
    return dequantizeResident4bit(w, shape, { roundBf16: opts.roundBf16 });
  } finally {
    // The backend keeps the buffers alive until the queued commands that read them are submitted.
    tf.dispose([w.words, w.absmax, w.code]);
  }
}

/** Round every element of a float32 tensor to bf16 (RNE), on the GPU: one thread per element. */
export class RoundBf16Program implements WebGPUProgram {
  variableNames = ['x'];
  outputShape: number[];
  shaderKey = 'loralab_round_bf16';
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WORKGROUP_X, 1, 1];
  size = true;

  constructor(shape: readonly number[]) {
    this.outputShape = [...shape];
    this.dispatchLayout = { x: shape.map((_, i) => i) };
    this.dispatch = [Math.ceil(numel(shape) / WORKGROUP_X), 1, 1];
  }

  getUserCode(): string {
    return `${ROUND_BF16_WGSL}
      fn main(index : i32) {
        if (index < uniforms.size) {
          setOutputAtIndex(index, roundToBf16(x[index]));
        }
      }
  `;
  }
}

/** A new float32 tensor of `t`'s values rounded to bf16, computed on the active 'webgpu' backend. */
export function roundToBf16WebGpu<R extends tf.Rank>(t: tf.Tensor<R>): tf.Tensor<R> {
  const backend = activeWebGpuBackend();
  if (t.dtype !== 'float32') throw new QuantizationError(`roundToBf16WebGpu: expected a float32 tensor, got ${t.dtype}`);
  if (t.size === 0) return tf.zeros(t.shape, 'float32') as tf.Tensor<R>;
  const info = backend.runWebGPUProgram(new RoundBf16Program(t.shape), [t], 'float32');
  return tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor<R>;
}
