/**
 * TF.js backend choice (LORALAB_BACKEND, tfjs-node, webgpu, wasm, cpu), bf16 rounding of tensors, tensors written in
 * place on the wasm backend, and 4-bit weights dequantized straight into tensors by the backend's fastest kernel.
 */
export * from './select.js';
export * from './init.js';
export * from './bf16.js';
export { filledTensor } from './heap.js';
export { dequantizeToTensor, dequantizeKernelName, recoveredAbsmax, rowChunks } from './dequantize.js';
export { KERNEL_TABLE, KERNEL_BACKENDS, activeKernels, kernelBackend, type KernelBackend, type KernelRow, type DequantizeKernelName, type MatmulKernelName, type ElementwiseKernelName } from './kernels.js';
export { loadNative, nativeStatus, describeNative, type NativeStatus } from './native.js';
export { setNativeKernels, nativeKernelsActive } from './nativeKernels.js';
export { nativeGeluTanh } from './nativeOps.js';
