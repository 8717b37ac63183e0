/**
 * Blockwise 8-bit quantization against a sorted 256-entry map (bitsandbytes `quantize_blockwise`, default backend):
 *   absmax_b = max |y| over block b,  scaled = clamp(y * (1 / max(absmax_b, 1e-38)), -1, 1)  (partial block: y / am)
 *   q = bucketize(scaled, (map[:-1] + map[1:]) / 2)        -> ties to the lower index
 *   ŷ = map[q] * absmax_b
 * Double quantization uses it with the dynamic map and blocks of 256.
 */
import { bucketize, midpoints } from './codebooks.js';
import { blockAbsmax, scaleBlocks } from './blockwise4.js';
import { QuantizationError } from './errors.js';

export interface Blockwise8Result {
  codes: Uint8Array;
  absmax: Float32Array;
  scaled: Float32Array;
}

export function quantizeBlockwise8(y: Float32Array, map: Float32Array, blocksize: number): Blockwise8Result {
  if (map.length !== 256) throw new QuantizationError(`an 8-bit map has 256 entries (got ${map.length})`);
  const absmax = blockAbsmax(y, blocksize);
  const scaled = scaleBlocks(y, absmax, blocksize);
  const bounds = midpoints(map);
  const codes = new Uint8Array(y.length);
  for (let i = 0; i < y.length; i++) codes[i] = bucketize(scaled[i], bounds);
  return { codes, absmax, scaled };
}

/** ŷ[i] = map[q[i]] * absmax[i / blocksize], in float32. */
export function dequantizeBlockwise8(codes: Uint8Array, absmax: Float32Array, map: Float32Array, blocksize: number): Float32Array {
  if (absmax.length < Math.ceil(codes.length / blocksize)) {
    throw new QuantizationError(`nested absmax has ${absmax.length} blocks, ${Math.ceil(codes.length / blocksize)} are needed`);
  }
  const out = new Float32Array(codes.length);
  // block by block, so that the inner loop is a load, a multiply and a store (no division per element)
  for (let b = 0, i = 0; i < codes.length; b++) {
    const a = absmax[b];
    for (const end = Math.min(codes.length, i + blocksize); i < end; i++) out[i] = map[codes[i]] * a;
  }
  return out;
}
