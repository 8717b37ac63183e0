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
 * buffers are; the tail padded with zeros), absmax and the 16-entry codebook as float32 tensors; blocksize is a
 * uniform; the output is a float32 tensor of the requested 2-D shape.
 *
 * The active TF.js backend must be 'webgpu'. This module only imports the types of @tensorflow/tfjs-backend-webgpu;
 * registering that backend (`await import('@tensorflow/tfjs-backend-webgpu')`, as `initBackend` does) and switching to
 * it are the caller's business, so the package is never loaded for users of other backends.
 */
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend, WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import { QuantizationError } from '../errors.js';

/** Threads per workgroup (TF.js's element-wise programs use 64–128). */
const WORKGROUP_X = 128;

/**
 * The WGSL body of the kernel, as TF.js's WebGPU backend wants it: `main(index)` is called once per output element
 * with the flat output index; TF.js prepends the storage bindings (`words: array<i32>`, `absmax: array<f32>`,
 * `codebook: array<f32>`, `result`), the `uniforms` struct (with `size` and our `blocksize`) and `setOutputAtIndex`.
 */
export function dequantize4bitWgsl(opts: { roundBf16: boolean }): string {
  return `
      // Element e's 4-bit code: byte e/2 of the little-endian word stream, high nibble for even e.
      fn nibbleAt(e : i32) -> u32 {
        let j = e >> 1;
        let word = bitcast<u32>(words[j >> 2]);
        let shift = u32((j & 3) * 8) + select(4u, 0u, (e & 1) == 1);
        return (word >> shift) & 0xfu;
      }

      // Round a float32 to the nearest bfloat16 value (ties to even), kept as f32; NaN -> 0x7fc0 as PyTorch does.
      fn roundToBf16(v : f32) -> f32 {
        let bits = bitcast<u32>(v);
        var rounded = (bits + 0x7fffu + ((bits >> 16u) & 1u)) & 0xffff0000u;
        if ((bits & 0x7fffffffu) > 0x7f800000u) {
          rounded = 0x7fc00000u;
        }
        return bitcast<f32>(rounded);
      }

      fn main(index : i32) {
        if (index < uniforms.size) {
          let v = codebook[nibbleAt(index)] * absmax[index / uniforms.blocksize];
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
  uniforms = 'blocksize : i32,';
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
    throw new Error(
      `dequantize4bitWebGpu needs TF.js's 'webgpu' backend to be active, but it is '${String(name)}': ` +
        `import '@tensorflow/tfjs-backend-webgpu' and await tf.setBackend('webgpu') first (it needs a WebGPU adapter)`,
    );
  }
  return backend as WebGPUBackend;
}

/**
 * Dequantize a 4-bit (NF4/FP4) weight on the GPU: `x̂[e] = code[nibble(e)] * absmax[e / blocksize]`, optionally rounded
 * to bfloat16, returned as a float32 tensor of `shape` on the active 'webgpu' backend. Bit-identical to
 * `dequantizePacked` (then `roundToBf16`).
 */
export function dequantize4bitWebGpu(
  packed: Uint8Array,
  absmax: Float32Array,
  code: Float32Array,
  blocksize: number,
  shape: readonly [number, number],
  opts: { roundBf16: boolean },
): tf.Tensor2D {
  const backend = activeWebGpuBackend();
  const [rows, cols] = shape;
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw new QuantizationError(`shape must be two non-negative integers (got [${shape.join(', ')}])`);
  }
  if (!Number.isInteger(blocksize) || blocksize < 1) throw new QuantizationError(`blocksize must be a positive integer (got ${blocksize})`);
  if (code.length !== 16) throw new QuantizationError(`a 4-bit codebook has 16 entries (got ${code.length})`);
  const n = rows * cols;
  const bytes = Math.ceil(n / 2);
  if (packed.length < bytes) throw new QuantizationError(`packed weight has ${packed.length} bytes, ${bytes} are needed for ${n} elements`);
  const blocks = Math.ceil(n / blocksize);
  if (absmax.length < blocks) {
    throw new QuantizationError(`absmax has ${absmax.length} blocks, ${blocks} are needed for ${n} elements at blocksize ${blocksize}`);
  }
  if (n === 0) return tf.zeros([rows, cols], 'float32') as tf.Tensor2D;

  const words = tf.tensor1d(packedToWords(packed, bytes), 'int32');
  const scales = tf.tensor1d(absmax.length === blocks ? absmax : absmax.subarray(0, blocks), 'float32');
  const table = tf.tensor1d(code, 'float32');
  try {
    const program = new Dequantize4bitProgram([rows, cols], opts.roundBf16);
    const info = backend.runWebGPUProgram(program, [words, scales, table], 'float32', [{ type: 'int32', data: [blocksize] }]);
    return tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor2D;
  } finally {
    // The backend keeps the buffers alive until the queued commands that read them are submitted.
    words.dispose();
    scales.dispose();
    table.dispose();
  }
}
