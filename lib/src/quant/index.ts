/** Quantization core: bf16, float16, NF4/FP4 blockwise, 8-bit dynamic, double quantization. */
// bf16, float16 and the dtype table live in numerics/ (below quant/ and io/); 'loralab/quant' keeps offering them.
export * from '../numerics/index.js';
export * from './codebooks.js';
export * from './maps.js';
export * from './errors.js';
export {
  BLOCKSIZES,
  ABSMAX_CLAMP,
  blockAbsmax,
  scaleBlocks,
  assignCodes,
  packNibbles,
  unpackNibbles,
  zeroCode,
  dequantizePacked,
  dequantizePackedScalar,
  checkBlocksize,
} from './blockwise4.js';
export * from './blockwise8.js';
export * from './torchSum.js';
export * from './doubleQuant.js';
export * from './quantize4bit.js';
export * from './defaults.js';
export * from './convert.js';
export * from './bnbFormat.js';
export * from './files.js';
export { wasmSimdAvailable, dequantizePackedSimd, Dequant4bitKernel, writeCodeTable, TABLE_BYTES } from './kernels/wasmSimd.js';
