/**
 * The public face of 4-bit quantization: `quantize4bit` / `quantizeNF4` / `quantizeFP4` return a `QuantState4bit`
 * (everything bitsandbytes serializes) and, with `trace: true`, every intermediate as typed arrays.
 */
import { codebook, type QuantType } from './codebooks.js';
import {
  assignCodes,
  blockAbsmax,
  checkBlocksize,
  checkFinite,
  dequantizePacked,
  packNibbles,
  quantizePackedFused,
  scaleBlocks,
  zeroCode,
} from './blockwise4.js';
import { castValues, numel, type FloatDType } from '../numerics/dtype.js';
import { BNB_4BIT_DEFAULTS } from './defaults.js';
import { doubleQuantize, recoverAbsmax, type DoubleQuantState, type DoubleQuantTrace } from './doubleQuant.js';
import { QuantizationError } from './errors.js';
import { shapeText } from '../util/errors.js';

export interface QuantState4bit {
  quantType: QuantType;
  blocksize: number;
  /** Shape of the original tensor, e.g. [out, in] for a linear weight. */
  shape: number[];
  /** dtype of the original tensor and of the dequantized output (`quant_state.dtype`). */
  dtype: FloatDType;
  /** Packed codes, ceil(n/2) bytes, element 2j in the high nibble; saved as `weight` with shape [ceil(n/2), 1]. */
  packed: Uint8Array;
  /** float32 absmax per block, or null when double quantization replaced it by `doubleQuant`. */
  absmax: Float32Array | null;
  /** The 16-entry codebook (`quant_map`). */
  code: Float32Array;
  doubleQuant: DoubleQuantState | null;
}

export interface QuantizeOptions {
  quantType?: QuantType;
  /** Elements per absmax block (default BNB_4BIT_DEFAULTS.blocksize, 64 as bitsandbytes'). */
  blocksize?: number;
  /** Shape to record; defaults to [n]. Its product must equal the number of elements. */
  shape?: number[];
  /** dtype to record for dequantization (values should already be representable in it). Default 'float32'. */
  dtype?: FloatDType;
  /** Double quantization (`compress_statistics` / `bnb_4bit_use_double_quant`). */
  doubleQuant?: boolean;
  trace?: boolean;
}

export interface QuantizeTrace {
  /** Exact float32 absmax per block, before any double quantization. */
  absmax: Float32Array;
  /** x / absmax, clamped to [-1, 1] — the value each code approximates. */
  scaled: Float32Array;
  /** One 4-bit code per element (0..15). */
  codes: Uint8Array;
  /** What a reader gets back (float32 values, rounded to the recorded dtype; with the recovered absmax if nested). */
  dequantized: Float32Array;
  /** dequantized - x, per element. */
  error: Float32Array;
  doubleQuant?: DoubleQuantTrace;
}

export interface QuantizeResult {
  state: QuantState4bit;
  trace?: QuantizeTrace;
}

export function quantize4bit(x: Float32Array, opts: QuantizeOptions & { trace: true }): QuantizeResult & { trace: QuantizeTrace };
export function quantize4bit(x: Float32Array, opts?: QuantizeOptions): QuantizeResult;
export function quantize4bit(x: Float32Array, opts: QuantizeOptions = {}): QuantizeResult {
  const quantType = opts.quantType ?? BNB_4BIT_DEFAULTS.quantType;
  const blocksize = opts.blocksize ?? BNB_4BIT_DEFAULTS.blocksize;
  const shape = opts.shape ?? [x.length];
  const dtype = opts.dtype ?? 'float32';
  checkBlocksize(blocksize);
  const code = codebook(quantType);
  if (numel(shape) !== x.length) {
    throw new QuantizationError(`shape ${shapeText(shape)} has ${numel(shape)} elements but the data has ${x.length}`);
  }
  if (x.length === 0) throw new QuantizationError('cannot quantize an empty tensor');
  // Untraced: the fused single pass, a piece at a time (the same bits as the whole array in one go).
  if (!opts.trace) return { state: quantize4bitStreaming(x.length, (s, e) => x.subarray(s, e), { ...opts, shape }) };

  // Traced path: the same computation step by step, keeping every intermediate.
  checkFinite(x);
  const absmax = blockAbsmax(x, blocksize);
  const scaled = scaleBlocks(x, absmax, blocksize);
  const codes = assignCodes(scaled, quantType);
  const packed = packNibbles(codes, zeroCode(quantType));

  let dq: ReturnType<typeof doubleQuantize> | null = null;
  if (opts.doubleQuant) dq = doubleQuantize(absmax);
  const state: QuantState4bit = {
    quantType,
    blocksize,
    shape: [...shape],
    dtype,
    packed,
    absmax: dq ? null : absmax,
    code,
    doubleQuant: dq ? dq.state : null,
  };

  const dequantized = dequantize4bit(state);
  const error = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) error[i] = dequantized[i] - x[i];
  const trace: QuantizeTrace = { absmax, scaled, codes, dequantized, error };
  if (dq) trace.doubleQuant = dq.trace;
  return { state, trace };
}

/** Elements per piece of `quantize4bitStreaming`: a multiple of every blocksize. */
export const QUANTIZE_PIECE = 1 << 20;

/**
 * Quantize a tensor of n elements that is read piece by piece — `read(start, end)` returns elements [start, end) as
 * float32 — into the same state as `quantize4bit` on the whole array, bit for bit: pieces are whole blocks, and only
 * the last piece holds the last (possibly partial) block. A loader streams a checkpoint tensor through this instead of
 * holding all of it in float32. `piece` must be a positive multiple of the blocksize (default QUANTIZE_PIECE).
 */
export function quantize4bitStreaming(
  n: number,
  read: (start: number, end: number) => Float32Array,
  opts: Omit<QuantizeOptions, 'trace'> & { piece?: number } = {},
): QuantState4bit {
  const quantType = opts.quantType ?? BNB_4BIT_DEFAULTS.quantType;
  const blocksize = opts.blocksize ?? BNB_4BIT_DEFAULTS.blocksize;
  const shape = opts.shape ?? [n];
  checkBlocksize(blocksize);
  const piece = opts.piece ?? QUANTIZE_PIECE;
  if (!(Number.isInteger(piece) && piece > 0 && piece % blocksize === 0)) throw new QuantizationError(`piece must be a positive multiple of the blocksize ${blocksize} (got ${piece})`);
  if (numel(shape) !== n) throw new QuantizationError(`shape ${shapeText(shape)} has ${numel(shape)} elements, not ${n}`);
  if (n === 0) throw new QuantizationError('cannot quantize an empty tensor');
  const packed = new Uint8Array(Math.ceil(n / 2));
  const absmax = new Float32Array(Math.ceil(n / blocksize));
  for (let s = 0; s < n; s += piece) {
    const e = Math.min(n, s + piece);
    const x = read(s, e);
    if (x.length !== e - s) throw new QuantizationError(`read(${s}, ${e}) returned ${x.length} values, expected ${e - s}`);
    checkFinite(x, 'input', s);
    const q = quantizePackedFused(x, blocksize, quantType);
    packed.set(q.packed, s / 2);
    absmax.set(q.absmax, s / blocksize);
  }
  const dq = opts.doubleQuant ? doubleQuantize(absmax).state : null;
  return { quantType, blocksize, shape: [...shape], dtype: opts.dtype ?? 'float32', packed, absmax: dq ? null : absmax, code: codebook(quantType), doubleQuant: dq };
}

export function quantizeNF4(x: Float32Array, opts: Omit<QuantizeOptions, 'quantType'> & { trace: true }): QuantizeResult & { trace: QuantizeTrace };
export function quantizeNF4(x: Float32Array, opts?: Omit<QuantizeOptions, 'quantType'>): QuantizeResult;
export function quantizeNF4(x: Float32Array, opts: Omit<QuantizeOptions, 'quantType'> = {}): QuantizeResult {
  return quantize4bit(x, { ...opts, quantType: 'nf4' });
}

export function quantizeFP4(x: Float32Array, opts: Omit<QuantizeOptions, 'quantType'> & { trace: true }): QuantizeResult & { trace: QuantizeTrace };
export function quantizeFP4(x: Float32Array, opts?: Omit<QuantizeOptions, 'quantType'>): QuantizeResult;
export function quantizeFP4(x: Float32Array, opts: Omit<QuantizeOptions, 'quantType'> = {}): QuantizeResult {
  return quantize4bit(x, { ...opts, quantType: 'fp4' });
}

/** The float32 per-block absmax a reader uses: stored directly, or recovered from double quantization. */
export function stateAbsmax(state: QuantState4bit): Float32Array {
  if (state.doubleQuant) return recoverAbsmax(state.doubleQuant);
  if (!state.absmax) throw new QuantizationError('quant state has neither absmax nor double-quantized absmax');
  return state.absmax;
}

/**
 * Dequantize to float32 values. The result is rounded to `dtype` (default: the state's dtype), as bitsandbytes casts
 * `code[q] * absmax` (computed in float32) to `quant_state.dtype`.
 */
export function dequantize4bit(state: QuantState4bit, opts: { dtype?: FloatDType; out?: Float32Array } = {}): Float32Array {
  const n = numel(state.shape);
  const dtype = opts.dtype ?? state.dtype;
  const out = dequantizePacked(state.packed, stateAbsmax(state), state.code, state.blocksize, n, opts.out, { roundBf16: dtype === 'bfloat16' });
  return dtype === 'bfloat16' ? out : castValues(out, dtype);
}

export interface BitsPerParameter {
  /** Bits of packed codes per parameter (4, plus padding for odd n). */
  codes: number;
  /** Bits of quantization constants per parameter: absmax, or qabsmax + nested absmax + offset. */
  constants: number;
  /** codes + constants: the paper's arithmetic (4.5, or 4.127 with double quantization at blocksize 64). */
  total: number;
  /** Also counting the per-tensor codebooks (quant_map, nested_quant_map): what the file really holds. */
  totalWithCodebooks: number;
}

/** Bytes of each part of a 4-bit state: packed codes; constants (absmax, or qabsmax + nested absmax + the float32 offset); codebooks. */
export function stateBytes(state: QuantState4bit): { codes: number; constants: number; codebooks: number; total: number } {
  const d = state.doubleQuant;
  const codes = state.packed.byteLength;
  const constants = d ? d.qabsmax.byteLength + d.nestedAbsmax.byteLength + 4 : (state.absmax?.byteLength ?? 0);
  const codebooks = state.code.byteLength + (d ? d.nestedCode.byteLength : 0);
  return { codes, constants, codebooks, total: codes + constants + codebooks };
}

/** Bits per parameter measured from the stored arrays' byte sizes (stateBytes · 8 / n). */
export function bitsPerParameter(state: QuantState4bit): BitsPerParameter {
  const n = numel(state.shape);
  const b = stateBytes(state);
  const codes = (b.codes * 8) / n;
  const constants = (b.constants * 8) / n;
  return { codes, constants, total: codes + constants, totalWithCodebooks: codes + constants + (b.codebooks * 8) / n };
}
