/** Quantization core: bf16, float16, NF4/FP4 blockwise, 8-bit dynamic, double quantization. */
export * from './bf16.js';
export * from './float16.js';
export * from './codebooks.js';
export * from './maps.js';
export * from './errors.js';
export {
  BLOCKSIZES,
  ABSMAX_CLAMP,
  type FloatDType,
  blockAbsmax,
  scaleBlocks,
  assignCodes,
  packNibbles,
  unpackNibbles,
  zeroCode,
  dequantizePacked,
  dequantizePackedScalar,
  castValues,
  checkBlocksize,
} from './blockwise4.js';
export * from './blockwise8.js';
export * from './torchSum.js';
export * from './doubleQuant.js';
export * from './quantize4bit.js';
export * from './convert.js';
export * from './bnbFormat.js';
export * from './files.js';
export { wasmSimdAvailable, dequantizePackedSimd, Dequant4bitKernel, writeCodeTable, TABLE_BYTES } from './kernels/wasmSimd.js';
