import { NF4_CODE } from 'loralab/quant';

/**
 * NF4 blockwise quantization, bit-compatible with bitsandbytes: one float32 absmax per block, one 4-bit code (0-15)
 * per value, ties on a midpoint going to the lower code.
 */
export function quantizeNF4Blockwise(x: Float32Array, blocksize: number): { codes: Uint8Array; absmax: Float32Array } {
  const nBlocks = Math.ceil(x.length / blocksize);
  const absmax = new Float32Array(nBlocks);
  const codes = new Uint8Array(x.length);
  // float32 midpoints between neighbouring levels: the decision boundaries
  const mids = Array.from({ length: 15 }, (_, i) => Math.fround((NF4_CODE[i] + NF4_CODE[i + 1]) / 2));
  for (let b = 0; b < nBlocks; b++) {
    const start = b * blocksize;
    const end = Math.min(start + blocksize, x.length);
    let m = 0;
    for (let i = start; i < end; i++) m = Math.max(m, Math.abs(x[i]));
    absmax[b] = m;
    // bitsandbytes clamps absmax at 1e-38 and multiplies by its float32 reciprocal (not a division: the two can differ
    // in the last place, and so pick different codes for a value next to a midpoint)
    const inv = Math.fround(1 / Math.max(m, 1e-38));
    for (let i = start; i < end; i++) {
      const s = Math.min(1, Math.max(-1, Math.fround(x[i] * inv)));
      let c = 0;
      while (c < 15 && mids[c] < s) c++; // strictly below: a value on a midpoint stays at the lower code
      codes[i] = c;
    }
  }
  return { codes, absmax };
}
