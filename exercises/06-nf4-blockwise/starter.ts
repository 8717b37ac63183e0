import { NF4_CODE } from 'loralab/quant';

/**
 * NF4 blockwise quantization, bit-compatible with bitsandbytes: one float32 absmax per block, one 4-bit code (0-15)
 * per value, ties on a midpoint going to the lower code.
 */
export function quantizeNF4Blockwise(x: Float32Array, blocksize: number): { codes: Uint8Array; absmax: Float32Array } {
  const nBlocks = Math.ceil(x.length / blocksize);
  const absmax = new Float32Array(nBlocks);
  const codes = new Uint8Array(x.length);
  // TODO: fill absmax with each block's largest |value|, then assign each scaled value the index of the nearest
  // NF4_CODE level (ties to the lower code).
  void NF4_CODE;
  return { codes, absmax };
}
