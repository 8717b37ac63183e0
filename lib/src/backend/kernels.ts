/**
 * LoRA Lab's kernel table: for each kind of backend, which implementation runs each of the operations LoRA Lab
 * supplies its own kernels for — the way TF.js registers kernels per backend and bitsandbytes registers ops per
 * backend. The reference math (quant/, TF.js ops) imports no kernel; kernels (quant/kernels, lib/native) import no
 * backend; this table, in backend/, is the one place that puts them together.
 *
 *   backend       matmul (tf.matMul → BatchMatMul)          4-bit dequantize into a tensor      tanh-GELU, Exp, bf16 rows   Gemma layer, head loss
 *   wasm-native   CBLAS sgemm on the wasm heap (lib/native)  native AVX2, threaded, in the heap  native, threaded            one native op each
 *   wasm          TF.js's own (XNNPACK; x·Wᵀ as (W·xᵀ)ᵀ)     wasm SIMD, in the wasm heap         TF.js's                     TF.js ops
 *   webgpu        TF.js's own                                WGSL compute shader                 TF.js's                     TF.js ops
 *   cpu           TF.js's own (and tensorflow: libtensorflow) JS array (SIMD or loop), uploaded  TF.js's                     TF.js ops
 *
 * "Gemma layer, head loss": a whole decoder layer forward and backward (models/gemma/fusedLayer.ts) and the tied
 * head's loss with its gradient (backend/nativeOps.ts nativeHeadLoss), each one native call where the layer is plain.
 *
 * On webgpu the packed weight is uploaded once per layer and stays on the GPU (`residentQuantState`): the shader
 * expands any row range of it into the matmul's operand, and bf16 rounding of activations is a WGSL shader too
 * (`roundTensorToBf16`), so a training step (train/deviceStep.ts) reads nothing back but its loss.
 */
import * as tf from '@tensorflow/tfjs';
import { nativeKernelsActive } from './nativeKernels.js';

export const KERNEL_BACKENDS = ['wasm-native', 'wasm', 'webgpu', 'cpu'] as const;
export type KernelBackend = (typeof KERNEL_BACKENDS)[number];

export type MatmulKernelName = 'blas-sgemm' | 'tfjs';
export type DequantizeKernelName = 'native' | 'wasm-fused' | 'webgpu' | 'cpu-copy';
export type ElementwiseKernelName = 'native' | 'tfjs';
export type FusedKernelName = 'native' | 'tfjs';

export interface KernelRow {
  matmul: MatmulKernelName;
  dequantize: DequantizeKernelName;
  /** tanh-GELU (forward and backward), Exp, Identity and the bf16 expansion of a frozen table's rows. */
  elementwise: ElementwiseKernelName;
  /** A Gemma decoder layer (forward and backward) and the tied head's loss: one native op each, or TF.js's ops. */
  fused: FusedKernelName;
}

export const KERNEL_TABLE: Readonly<Record<KernelBackend, Readonly<KernelRow>>> = {
  'wasm-native': { matmul: 'blas-sgemm', dequantize: 'native', elementwise: 'native', fused: 'native' },
  wasm: { matmul: 'tfjs', dequantize: 'wasm-fused', elementwise: 'tfjs', fused: 'tfjs' },
  webgpu: { matmul: 'tfjs', dequantize: 'webgpu', elementwise: 'tfjs', fused: 'tfjs' },
  cpu: { matmul: 'tfjs', dequantize: 'cpu-copy', elementwise: 'tfjs', fused: 'tfjs' },
};

/** The table's row for the active TF.js backend ('tensorflow' and 'cpu' share the plain row). */
export function kernelBackend(): KernelBackend {
  switch (tf.getBackend()) {
    case 'wasm':
      return nativeKernelsActive() ? 'wasm-native' : 'wasm';
    case 'webgpu':
      return 'webgpu';
    default:
      return 'cpu';
  }
}

/** Which kernel runs each operation on the active backend. */
export function activeKernels(): KernelRow & { backend: KernelBackend } {
  const backend = kernelBackend();
  return { backend, ...KERNEL_TABLE[backend] };
}
