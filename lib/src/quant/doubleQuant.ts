/**
 * Double quantization (QLoRA §3, bitsandbytes `compress_statistics=True`): the float32 absmax constants c2 of the
 * 4-bit blocks are themselves quantized to 8 bits.
 *
 *   offset      = mean(absmax)                                  (float32; centres the values so the map is used symmetrically)
 *   qabsmax     = quantizeBlockwise8(absmax - offset, DYNAMIC_MAP, 256)
 *   recovered_i = DYNAMIC_MAP[qabsmax_i] * nested_absmax[i / 256] + offset      (float32)
 *
 * Cost per parameter at blocksize 64: 8/64 + 32/(64*256) = 0.127 bits instead of 32/64 = 0.5.
 */
import { DYNAMIC_MAP } from './maps.js';
import { torchMeanF32 } from './torchSum.js';
import { dequantizeBlockwise8, quantizeBlockwise8 } from './blockwise8.js';

export const NESTED_BLOCKSIZE = 256;

export interface DoubleQuantState {
  /** 8-bit codes of (absmax - offset), one per 4-bit block; saved as `weight.absmax` (U8). */
  qabsmax: Uint8Array;
  /** float32 absmax of each block of 256 codes; saved as `weight.nested_absmax`. */
  nestedAbsmax: Float32Array;
  /** The 256-entry map; saved as `weight.nested_quant_map`. */
  nestedCode: Float32Array;
  nestedBlocksize: number;
  /** mean(absmax), a float32 value; saved in the JSON as `nested_offset`. */
  offset: number;
}

export interface DoubleQuantTrace {
  offset: number;
  /** absmax - offset, the values that get 8-bit quantized. */
  centred: Float32Array;
  /** centred / nested absmax of its 256-block, in [-1, 1]. */
  scaled: Float32Array;
  qabsmax: Uint8Array;
  nestedAbsmax: Float32Array;
  recoveredAbsmax: Float32Array;
  /** recovered - original absmax, per 4-bit block. */
  error: Float32Array;
}

/**
 * mean(absmax) as a float32, as `absmax.mean()` computes it in PyTorch on the CPU (see torchSum.ts): float32 partial
 * sums in the cascade order of ATen's kernel, 8 lanes (AVX2 / default kernels) and one thread, then one float32
 * division. A float64 sum rounded once differed in the last bit for about one state in seven. Files store the offset
 * they used, and readers use the stored one.
 */
export function meanF32(x: Float32Array): number {
  return x.length ? torchMeanF32(x) : 0;
}

export function doubleQuantize(absmax: Float32Array, opts: { nestedBlocksize?: number; code?: Float32Array } = {}): { state: DoubleQuantState; trace: DoubleQuantTrace } {
  const nestedBlocksize = opts.nestedBlocksize ?? NESTED_BLOCKSIZE;
  const code = opts.code ?? DYNAMIC_MAP;
  const offset = meanF32(absmax);
  const centred = new Float32Array(absmax.length);
  for (let i = 0; i < absmax.length; i++) centred[i] = absmax[i] - offset;
  const q = quantizeBlockwise8(centred, code, nestedBlocksize);
  const state: DoubleQuantState = { qabsmax: q.codes, nestedAbsmax: q.absmax, nestedCode: code, nestedBlocksize, offset };
  const recoveredAbsmax = recoverAbsmax(state);
  const error = new Float32Array(absmax.length);
  for (let i = 0; i < absmax.length; i++) error[i] = recoveredAbsmax[i] - absmax[i];
  return { state, trace: { offset, centred, scaled: q.scaled, qabsmax: q.codes, nestedAbsmax: q.absmax, recoveredAbsmax, error } };
}

/** absmax_i = code[qabsmax_i] * nested_absmax[i / 256] + offset, in float32 (bitsandbytes `dequantize_4bit`). */
export function recoverAbsmax(dq: DoubleQuantState): Float32Array {
  const out = dequantizeBlockwise8(dq.qabsmax, dq.nestedAbsmax, dq.nestedCode, dq.nestedBlocksize);
  const off = Math.fround(dq.offset);
  for (let i = 0; i < out.length; i++) out[i] = out[i] + off;
  return out;
}
