/**
 * LoRA Lab's kernels for the 4-bit format, as plain implementations that know nothing of TF.js backends: the
 * WebAssembly SIMD dequantize (wasmSimd.ts, dequant4bit.wat), bound to whatever memory it is given, and the WGSL
 * program for TF.js's WebGPU backend (webgpu.ts). Which one runs where is decided in one place, the kernel table
 * (backend/kernels.ts), which also puts them into TF.js tensors (backend/dequantize.ts).
 */
export * from './wasmSimd.js';
export * from './webgpu.js';
