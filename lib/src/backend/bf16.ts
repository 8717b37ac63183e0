/**
 * bf16 rounding for TF.js tensors. TF.js computes in float32 only, so "bf16 compute" means rounding the operands to
 * bf16 values (round-to-nearest-even) and accumulating in float32. On the wasm backend the 4-bit SIMD kernel
 * (quant/kernels) rounds inside the heap (backend/dequantize.ts).
 */
export { roundTensorToBf16 } from './dequantize.js';
