/**
 * The WebAssembly SIMD 4-bit dequantize kernel (dequant4bit.wat), instantiated on a given WebAssembly.Memory.
 *
 * Two ways to use it:
 * - `dequantizePackedSimd` owns a private memory: it copies the packed codes and absmax in, runs the kernel and copies
 *   the float32 values out. A drop-in for `dequantizePacked` when the caller wants a JS array.
 * - `Dequant4bitKernel.on(memory)` binds the kernel to somebody else's memory — TF.js's wasm backend heap — so the
 *   dequantized weight is written straight into the tensor the matmul reads (see kernels/index.ts).
 */
import { DEQUANT4BIT_WASM_BASE64 } from './dequant4bitWasm.js';
import { roundScalarToBf16 } from '../bf16.js';
import { ShapeError } from '../../util/errors.js';
import { QuantizationError } from '../errors.js';

interface KernelExports {
  dequantize(packed: number, absmax: number, table: number, out: number, nbytes: number, bytesPerBlock: number, roundBf16: number): void;
  roundBf16(src: number, dst: number, n: number): void;
}

let compiled: WebAssembly.Module | null | undefined;

function decodeBase64(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

/** The compiled module, or null where this WebAssembly engine has no SIMD (it is validated, never assumed). */
function kernelModule(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  try {
    const bytes = decodeBase64(DEQUANT4BIT_WASM_BASE64) as Uint8Array<ArrayBuffer>;
    compiled = typeof WebAssembly !== 'undefined' && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  } catch {
    compiled = null;
  }
  return compiled;
}

/** True where the SIMD kernel can run (Node ≥ 16, current browsers). */
export function wasmSimdAvailable(): boolean {
  return kernelModule() !== null;
}

/** Bytes of the codebook table the kernel reads: 4 byte planes of 16 entries, then the 16 float32 values. */
export const TABLE_BYTES = 128;

/** Write the codebook table for `code` (16 float32 values) at byte offset `ptr` of `heap`. */
export function writeCodeTable(heap: ArrayBuffer, ptr: number, code: Float32Array): void {
  if (code.length !== 16) throw new ShapeError(`has ${code.length} values`, { file: 'writeCodeTable', field: 'code', expected: '16 values (a 4-bit codebook)' });
  const bytes = new Uint8Array(new Float32Array(code).buffer);
  const out = new Uint8Array(heap, ptr, TABLE_BYTES);
  for (let c = 0; c < 16; c++) for (let k = 0; k < 4; k++) out[16 * k + c] = bytes[4 * c + k];
  out.set(bytes, 64);
}

/** Bytes `Dequant4bitKernel.run` stages before dequantizing: the codebook table, the absmax and the packed codes. */
export function stagingBytes(nbytes: number, blocksize: number): number {
  return TABLE_BYTES + 4 * Math.ceil((2 * nbytes) / blocksize) + nbytes;
}

/** The last value of an odd-length tensor (the high nibble of the last byte), which the kernel leaves to its caller. */
export function lastOddValue(packed: Uint8Array, absmax: Float32Array, code: Float32Array, blocksize: number, n: number, roundBf16: boolean): number {
  const v = code[packed[n >> 1] >> 4] * absmax[Math.floor((n - 1) / blocksize)];
  return roundBf16 ? roundScalarToBf16(v) : v;
}

export class Dequant4bitKernel {
  private constructor(private readonly memory: WebAssembly.Memory, private readonly exports: KernelExports) {}

  /** The kernel bound to `memory`, or null without WebAssembly SIMD. */
  static on(memory: WebAssembly.Memory): Dequant4bitKernel | null {
    const mod = kernelModule();
    if (!mod) return null;
    const inst = new WebAssembly.Instance(mod, { env: { memory } });
    return new Dequant4bitKernel(memory, inst.exports as unknown as KernelExports);
  }

  /**
   * Copy the codebook table, the absmax and the first `nbytes` packed bytes to byte offset `at` of the bound memory
   * (`stagingBytes` of room, 4-byte aligned), then dequantize them into the 2·nbytes float32 values at byte offset `out`.
   */
  run(p: { at: number; out: number; packed: Uint8Array; absmax: Float32Array; code: Float32Array; nbytes: number; blocksize: number; roundBf16: boolean }): void {
    const blocks = Math.ceil((2 * p.nbytes) / p.blocksize);
    const absmaxAt = p.at + TABLE_BYTES;
    const packedAt = absmaxAt + 4 * blocks;
    const heap = this.memory.buffer;
    writeCodeTable(heap, p.at, p.code);
    new Float32Array(heap, absmaxAt, blocks).set(p.absmax.subarray(0, blocks));
    new Uint8Array(heap, packedAt, p.nbytes).set(p.packed.subarray(0, p.nbytes));
    this.dequantize({ packed: packedAt, absmax: absmaxAt, table: p.at, out: p.out, nbytes: p.nbytes, blocksize: p.blocksize, roundBf16: p.roundBf16 });
  }

  /**
   * out[e] = code[nibble(e)] · absmax[e / blocksize] for the 2·nbytes elements of `nbytes` packed bytes; all
   * arguments are byte offsets in the bound memory. blocksize must be even (every bitsandbytes blocksize is).
   */
  dequantize(p: { packed: number; absmax: number; table: number; out: number; nbytes: number; blocksize: number; roundBf16: boolean }): void {
    if (p.blocksize % 2 !== 0) throw new QuantizationError(`got ${p.blocksize}`, { file: 'the SIMD dequantize kernel', field: 'blocksize', expected: 'an even blocksize' });
    this.exports.dequantize(p.packed, p.absmax, p.table, p.out, p.nbytes, p.blocksize >> 1, p.roundBf16 ? 1 : 0);
  }

  /** dst[i] = src[i] rounded to a bf16 value (round to nearest even; NaN → 0x7fc0); byte offsets, src may equal dst. */
  roundBf16(src: number, dst: number, n: number): void {
    this.exports.roundBf16(src, dst, n);
  }
}

const PAGE = 65536;
/** Elements per pass of dequantizePackedSimd: a multiple of every blocksize, and a scratch memory of ~5 MB at most. */
const CHUNK = 1 << 20;
let own: { memory: WebAssembly.Memory; kernel: Dequant4bitKernel } | null = null;

function ownMemory(bytes: number): { memory: WebAssembly.Memory; kernel: Dequant4bitKernel } | null {
  if (!own) {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const kernel = Dequant4bitKernel.on(memory);
    if (!kernel) return null;
    own = { memory, kernel };
  }
  const have = own.memory.buffer.byteLength;
  if (bytes > have) own.memory.grow(Math.ceil((bytes - have) / PAGE));
  return own;
}

const align16 = (x: number) => (x + 15) & ~15;

/**
 * dequantizePacked through the SIMD kernel in a private scratch memory, CHUNK elements at a time: the same values bit
 * for bit (float32 products are correctly rounded in both), optionally rounded to bf16. Returns null where
 * WebAssembly SIMD is missing or the blocksize is odd. Odd n: the last element (a high nibble) is computed here.
 */
export function dequantizePackedSimd(
  packed: Uint8Array,
  absmax: Float32Array,
  code: Float32Array,
  blocksize: number,
  n: number,
  out: Float32Array = new Float32Array(n),
  opts: { roundBf16?: boolean } = {},
): Float32Array | null {
  if (blocksize % 2 !== 0 || CHUNK % blocksize !== 0) return null;
  const chunk = Math.min(CHUNK, n);
  const outAt = align16(stagingBytes(chunk >> 1, blocksize));
  const m = ownMemory(outAt + 4 * chunk);
  if (!m) return null;
  const roundBf16 = !!opts.roundBf16;
  const nbytesAll = n >> 1;
  for (let e0 = 0; e0 < 2 * nbytesAll; e0 += chunk) {
    const nbytes = Math.min(chunk >> 1, nbytesAll - (e0 >> 1));
    m.kernel.run({ at: 0, out: outAt, packed: packed.subarray(e0 >> 1), absmax: absmax.subarray(e0 / blocksize), code, nbytes, blocksize, roundBf16 });
    out.set(new Float32Array(m.memory.buffer, outAt, 2 * nbytes), e0);
  }
  if (n & 1) out[n - 1] = lastOddValue(packed, absmax, code, blocksize, n, roundBf16);
  return out;
}
