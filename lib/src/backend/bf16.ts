/**
 * bf16 rounding for TF.js tensors. TF.js computes in float32 only, so "bf16 compute" means rounding the operands to
 * bf16 values (round-to-nearest-even) and accumulating in float32. The rounding itself lives with the 4-bit kernels
 * (quant/kernels), which do it inside the wasm backend's heap.
 */
export { roundTensorToBf16 } from '../quant/kernels/index.js';
