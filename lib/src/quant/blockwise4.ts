/**
 * Blockwise 4-bit quantization (NF4 / FP4), exactly as bitsandbytes' reference backend
 * (`backends/default/ops.py` `quantize_4bit` / `dequantize_4bit`):
 *
 *   blocks   = the flattened tensor cut into runs of `blocksize` (the last one may be partial)
 *   absmax_b = max |x| over block b                                    (float32, stored per block)
 *   scaled   = clamp(x * (1 / max(absmax_b, 1e-38)), -1, 1)           (float32; the partial block divides: x / am)
 *   code     = bucketize(scaled, midpoints)  -> ties go to the LOWER code
 *   packed   = code[2j] << 4 | code[2j+1]                             (even element in the high nibble)
 *   x̂        = codebook[code] * absmax_b                               (float32, then cast to the state's dtype)
 */
import { bucketize, codebook, quantBounds, type QuantType } from './codebooks.js';
import { QuantizationError } from './errors.js';
import { roundToBf16 } from '../numerics/bf16.js';
import { assertInternal } from '../util/errors.js';

const fr = Math.fround;

/** Blocksizes bitsandbytes accepts (0.50: 32..4096; releases before 0.50 start at 64). */
export const BLOCKSIZES = [32, 64, 128, 256, 512, 1024, 2048, 4096] as const;
/** Smallest absmax used as a divisor: `absmax.clamp(min=1e-38)` (a float32 subnormal). */
export const ABSMAX_CLAMP = fr(1e-38);

export function checkBlocksize(blocksize: number, allowed: readonly number[] = BLOCKSIZES): void {
  if (!Number.isInteger(blocksize) || !allowed.includes(blocksize)) {
    throw new QuantizationError(`blocksize must be one of ${allowed.join(', ')} (got ${String(blocksize)})`);
  }
}

/** Throw at the first non-finite value; `offset` is the index of x[0] in the whole tensor (for a piece of it). */
export function checkFinite(x: ArrayLike<number>, what = 'input', offset = 0): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (!Number.isFinite(v)) {
      throw new QuantizationError(`${what} has a non-finite value (${v}) at element ${offset + i}; 4-bit quantization needs finite weights`);
    }
  }
}

/** Per-block absmax, `max |x|` (float32; 0 for an all-zero full block, clamped to 1e-38 for a partial one). */
export function blockAbsmax(x: Float32Array, blocksize: number): Float32Array {
  const n = x.length;
  const blocks = Math.ceil(n / blocksize);
  const absmax = new Float32Array(blocks);
  for (let b = 0; b < blocks; b++) {
    let m = 0;
    const end = Math.min(n, (b + 1) * blocksize);
    for (let i = b * blocksize; i < end; i++) {
      const a = Math.abs(x[i]);
      if (a > m) m = a;
    }
    // bitsandbytes clamps only the partial last block's stored absmax (`am = ....clamp(min=1e-38)`).
    absmax[b] = end - b * blocksize < blocksize && m < ABSMAX_CLAMP ? ABSMAX_CLAMP : m;
  }
  return absmax;
}

/**
 * Scale one block into [-1, 1] as the reference does: full blocks multiply by the float32 reciprocal
 * `1 / max(absmax, 1e-38)`; the partial last block divides by its clamped absmax.
 */
export function scaleBlocks(x: Float32Array, absmax: Float32Array, blocksize: number, out?: Float32Array): Float32Array {
  const n = x.length;
  const scaled = out ?? new Float32Array(n);
  const full = n - (n % blocksize);
  for (let b = 0; b < absmax.length; b++) {
    const start = b * blocksize;
    const end = Math.min(n, start + blocksize);
    if (end <= full) {
      const inv = fr(1 / Math.max(absmax[b], ABSMAX_CLAMP));
      for (let i = start; i < end; i++) scaled[i] = clampUnit(fr(x[i] * inv));
    } else {
      const am = absmax[b];
      for (let i = start; i < end; i++) scaled[i] = clampUnit(fr(x[i] / am));
    }
  }
  return scaled;
}

function clampUnit(v: number): number {
  return v < -1 ? -1 : v > 1 ? 1 : v;
}

/** Codes for scaled values: sorted position by bucketize, then through the codebook's sort order (FP4). */
export function assignCodes(scaled: Float32Array, quantType: QuantType): Uint8Array {
  const { bounds, order } = quantBounds(quantType);
  const codes = new Uint8Array(scaled.length);
  for (let i = 0; i < scaled.length; i++) codes[i] = order[bucketize(scaled[i], bounds)];
  return codes;
}

/** Pack 4-bit codes two per byte, element 2j in the high nibble; an odd tail is padded with `padCode`. */
export function packNibbles(codes: Uint8Array, padCode: number): Uint8Array {
  const n = codes.length;
  const packed = new Uint8Array(Math.ceil(n / 2));
  for (let j = 0; j < packed.length; j++) {
    const hi = codes[2 * j];
    const lo = 2 * j + 1 < n ? codes[2 * j + 1] : padCode;
    packed[j] = (hi << 4) | lo;
  }
  return packed;
}

/**
 * Bucketize by table: [-1, 1] is cut into 4096 equal buckets; `below[k]` counts the midpoints under bucket k and
 * `inside[k]` is the one midpoint inside it (or 2, above everything). Then `#{ i : v > bounds[i] }` is
 * `below[k] + (v > inside[k])` — one load and one comparison instead of a branchy search. Exact because no bucket
 * holds two midpoints (checked when the table is built) and bucket edges are exact binary fractions.
 */
const LUT_BUCKETS = 4096;
interface BucketTable {
  below: Uint8Array;
  inside: Float32Array;
}
const tables = new Map<QuantType, BucketTable>();

export function bucketTable(quantType: QuantType): BucketTable {
  let t = tables.get(quantType);
  if (t) return t;
  const { bounds } = quantBounds(quantType);
  const below = new Uint8Array(LUT_BUCKETS);
  const inside = new Float32Array(LUT_BUCKETS);
  for (let k = 0; k < LUT_BUCKETS; k++) {
    const lo = -1 + (2 * k) / LUT_BUCKETS;
    const hi = -1 + (2 * (k + 1)) / LUT_BUCKETS;
    let p = 0;
    while (p < bounds.length && bounds[p] < lo) p++;
    below[k] = p;
    inside[k] = p < bounds.length && bounds[p] < hi ? bounds[p] : 2;
    assertInternal(!(p + 1 < bounds.length && bounds[p + 1] < hi), `bucket ${k} holds two midpoints of the ${quantType} codebook`);
  }
  t = { below, inside };
  tables.set(quantType, t);
  return t;
}

/**
 * The same result as blockAbsmax -> scaleBlocks -> assignCodes -> packNibbles, in one pass without the intermediate
 * arrays: what quantization runs when no trace is asked for.
 */
export function quantizePackedFused(x: Float32Array, blocksize: number, quantType: QuantType): { packed: Uint8Array; absmax: Float32Array } {
  const n = x.length;
  const { order } = quantBounds(quantType);
  const { below, inside } = bucketTable(quantType);
  const codeOf = new Uint8Array(16);
  for (let p = 0; p < 16; p++) codeOf[p] = order[p];
  const absmax = blockAbsmax(x, blocksize);
  const packed = new Uint8Array(Math.ceil(n / 2));
  const half = LUT_BUCKETS / 2;
  const full = n - (n % blocksize);
  let hi = 0;
  for (let b = 0; b < absmax.length; b++) {
    const start = b * blocksize;
    const end = Math.min(n, start + blocksize);
    const partial = end > full;
    const am = absmax[b];
    const inv = fr(1 / Math.max(am, ABSMAX_CLAMP));
    for (let i = start; i < end; i++) {
      let v = partial ? fr(x[i] / am) : fr(x[i] * inv);
      v = v < -1 ? -1 : v > 1 ? 1 : v;
      let k = ((v + 1) * half) | 0;
      if (k >= LUT_BUCKETS) k = LUT_BUCKETS - 1;
      const c = codeOf[below[k] + (v > inside[k] ? 1 : 0)];
      if (i & 1) packed[i >> 1] = (hi << 4) | c;
      else hi = c;
    }
  }
  if (n & 1) packed[n >> 1] = (hi << 4) | zeroCode(quantType);
  return { packed, absmax };
}

/** Unpack n 4-bit codes (high nibble first). */
export function unpackNibbles(packed: Uint8Array, n: number): Uint8Array {
  const codes = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const byte = packed[i >> 1];
    codes[i] = i & 1 ? byte & 0xf : byte >> 4;
  }
  return codes;
}

/** The code bitsandbytes stores for the padding element 0.0 of an odd-length tensor (0x7 NF4, 0x0 FP4). */
export function zeroCode(quantType: QuantType): number {
  const { bounds, order } = quantBounds(quantType);
  return order[bucketize(0, bounds)];
}

/**
 * A faster implementation of `dequantizePacked` for JavaScript arrays (the same bits as the loop), or null when it
 * cannot take these arguments. This reference module imports no kernel: the kernel table (backend/dequantize.ts)
 * registers one — the WebAssembly SIMD kernel — when the backend layer loads, as TF.js backends register kernels.
 */
export type PackedDequantizer = (
  packed: Uint8Array, absmax: Float32Array, code: Float32Array, blocksize: number, n: number, out: Float32Array, opts: { roundBf16?: boolean },
) => Float32Array | null;

let accelerated: PackedDequantizer | null = null;

/** Install (or, with null, remove) the accelerated array dequantize `dequantizePacked` tries first. */
export function registerPackedDequantizer(f: PackedDequantizer | null): void {
  accelerated = f;
}

/**
 * Dequantize packed 4-bit codes with per-block absmax into float32: `out[e] = code[nibble(e)] * absmax[e / bs]`,
 * optionally rounded to bf16 values (bitsandbytes' cast to a bf16 quant state's dtype). Runs the registered
 * accelerated kernel where there is one and it takes the arguments, else the plain loop below; both give the same bits.
 */
export function dequantizePacked(
  packed: Uint8Array,
  absmax: Float32Array,
  code: Float32Array,
  blocksize: number,
  n: number,
  out: Float32Array = new Float32Array(n),
  opts: { roundBf16?: boolean } = {},
): Float32Array {
  checkDequantizeArgs(packed, absmax, blocksize, n);
  if (accelerated?.(packed, absmax, code, blocksize, n, out, opts)) return out;
  dequantizePackedScalar(packed, absmax, code, blocksize, n, out);
  return opts.roundBf16 ? roundToBf16(out, { inPlace: true }) : out;
}

function checkDequantizeArgs(packed: Uint8Array, absmax: Float32Array, blocksize: number, n: number): void {
  if (packed.length < Math.ceil(n / 2)) {
    throw new QuantizationError(`packed weight has ${packed.length} bytes, ${Math.ceil(n / 2)} are needed for ${n} elements`);
  }
  if (absmax.length < Math.ceil(n / blocksize)) {
    throw new QuantizationError(`absmax has ${absmax.length} blocks, ${Math.ceil(n / blocksize)} are needed for ${n} elements at blocksize ${blocksize}`);
  }
}

/**
 * The plain-JavaScript dequantize loop (the reference the SIMD kernel is tested against). A 256-entry table maps each
 * byte to its two code values, so the inner loop is two loads and two multiplies. Its parameter list is
 * dequantizePacked's (and kernels/wasmSimd.ts's dequantizePackedSimd's) on purpose: each stands in for the others.
 */
export function dequantizePackedScalar(
  packed: Uint8Array,
  absmax: Float32Array,
  code: Float32Array,
  blocksize: number,
  n: number,
  out: Float32Array = new Float32Array(n),
): Float32Array {
  checkDequantizeArgs(packed, absmax, blocksize, n);
  const pair = new Float32Array(512);
  for (let b = 0; b < 256; b++) {
    pair[2 * b] = code[b >> 4];
    pair[2 * b + 1] = code[b & 0xf];
  }
  if (blocksize % 2 === 0) {
    // Blocks hold whole bytes: walk bytes, one absmax per blocksize/2 bytes.
    const bytesPerBlock = blocksize >> 1;
    const fullBytes = n >> 1;
    for (let blk = 0, j = 0; j < fullBytes; blk++) {
      const a = absmax[blk];
      const end = Math.min(fullBytes, j + bytesPerBlock);
      for (; j < end; j++) {
        const p = packed[j] << 1;
        out[2 * j] = pair[p] * a;
        out[2 * j + 1] = pair[p + 1] * a;
      }
    }
    if (n & 1) out[n - 1] = code[packed[n >> 1] >> 4] * absmax[Math.floor((n - 1) / blocksize)];
  } else {
    for (let i = 0; i < n; i++) {
      const byte = packed[i >> 1];
      out[i] = code[i & 1 ? byte & 0xf : byte >> 4] * absmax[Math.floor(i / blocksize)];
    }
  }
  return out;
}

export { codebook };
