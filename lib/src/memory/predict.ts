/**
 * Memory needed to fine-tune a model, by component, before running anything.
 *
 * runtime 'pytorch' — the arithmetic of the papers (mixed precision, bitsandbytes):
 *   full   precision 'mixed' (the default, the standard recipe): bf16 weights 2 B/param + bf16 gradients 2 B + float32
 *          master weights 4 B + Adam states 8 B (two float32 moments) = 16 B/param (Rajbhandari et al. 2020, ZeRO §3.1:
 *          2Ψ + 2Ψ + KΨ with K = 12; Hugging Face Transformers docs, "Model training anatomy": 18 B/param for mixed-precision
 *          AdamW counting an fp32 gradient, 16 with bf16 gradients). LLaMA-7B: 6.74B × 16 B ≈ 108 GB.
 *          precision 'bf16' (pure bf16: no master copy): 2 + 2 + 8 = 12 B/param — the QLoRA paper's accounting (Dettmers et
 *          al. 2023, §1: 65B "requires more than 780 GB", 65.3B × 12 B = 784 GB).
 *   lora   frozen bf16 weights 2 B/param; adapters in float32 4 B + their gradients 4 B + Adam 8 B per adapter param
 *   qlora  4-bit linear weights 0.5 B/param + quantization constants (32/64 bits, or 8/64 + 32/(64·256) with double
 *          quantization, per parameter), other weights bf16; adapters and their gradients in bf16 (the QLoRA recipe casts
 *          the LoRA layers to bf16) with 32-bit Adam states (8 B)
 *   activations (Korthikanti et al. 2022, 16-bit): per layer s·b·h·(34 + 5·a·s/h) bytes; with gradient
 *          checkpointing only each layer's input (2·s·b·h bytes) is kept plus one layer recomputed; logits s·b·V·(2 + 4).
 *
 * runtime 'loralab' — this library on TF.js (float32 tensors): dense weights 4 B, 4-bit weights as above, a bf16
 *   checkpoint's frozen embedding 2 B, adapters/gradients/Adam in float32, and the float32 tensors TF.js keeps for the
 *   backward pass (counted per operation of our Gemma layer), plus the pieces of dequantized weight and of the output
 *   head that exist at once, and the process itself. It predicts what `loralab train` uses, to within 10% (bench/results/gemma2b-step.json).
 */
import { numel } from '../numerics/dtype.js';
import { DENSE_PIECE_ELEMENTS, headChunkRows } from '../layers/pieces.js';
import { loraParameterCount, modelWeightShapes, totalParameters, type ShapeConfig } from '../peft/paramCounts.js';
import { ArgumentError } from '../util/errors.js';

export type MemoryMethod = 'full' | 'lora' | 'qlora';
export type Runtime = 'pytorch' | 'loralab';
/** How full fine-tuning keeps its weights (pytorch runtime): bf16 with a float32 master copy, or bf16 alone. */
export type FullPrecision = 'mixed' | 'bf16';

/** Bytes per parameter of full fine-tuning before activations, by component (pytorch runtime). */
export const FULL_FINETUNE_BYTES: Record<FullPrecision, { weights: number; gradients: number; masterWeights: number; optimizerStates: number; total: number }> = {
  mixed: { weights: 2, gradients: 2, masterWeights: 4, optimizerStates: 8, total: 16 },
  bf16: { weights: 2, gradients: 2, masterWeights: 0, optimizerStates: 8, total: 12 },
};

/** What each accounting of full fine-tuning is, in words (for `loralab memory` and the notebooks). */
export const FULL_PRECISION_LABEL: Record<FullPrecision, string> = {
  mixed: 'mixed precision, 16 B/param: bf16 weight 2 + bf16 gradient 2 + float32 master weight 4 + AdamW moments 8 (ZeRO; Hugging Face)',
  bf16: 'pure bf16, 12 B/param: bf16 weight 2 + bf16 gradient 2 + AdamW moments 8, no master copy (the QLoRA paper\'s > 780 GB for 65B)',
};

export interface MemoryOptions {
  method: MemoryMethod;
  r?: number;
  /** Default: DEFAULT_TARGET_MODULES (loralab/peft), PEFT's default for Gemma. */
  targetModules?: string[] | string;
  seqLen?: number;
  batchSize?: number;
  gradientCheckpointing?: boolean;
  doubleQuant?: boolean;
  runtime?: Runtime;
  /** Full fine-tuning on the pytorch runtime: 'mixed' (default, 16 B/param) or 'bf16' (12 B/param). */
  precision?: FullPrecision;
  /** Bytes per value of the checkpoint (2 for bf16/fp16, 4 for float32). */
  checkpointBytesPerParam?: number;
}

export interface MemoryBreakdown {
  parameters: { total: number; linear: number; other: number; adapters: number };
  bytes: {
    weights: number;
    /** The float32 copy of the weights that mixed-precision full fine-tuning updates (0 otherwise). */
    masterWeights: number;
    quantizationConstants: number;
    adapters: number;
    gradients: number;
    optimizerStates: number;
    activations: number;
    /** Dequantized layer copies, the process and libraries (loralab runtime only). */
    overhead: number;
    total: number;
  };
}

/** The process with TF.js and its wasm backend loaded (measured, bench/results/gemma2b-load.json). */
export const LORALAB_PROCESS_BYTES = 100 * 2 ** 20;
/** Heap the wasm allocator holds beyond the live tensors, as a fraction of them (measured on the Gemma-2B step). */
const HEAP_SLACK = 1;

function linearAndOther(cfg: ShapeConfig): { linear: number; other: number; largestLinear: number } {
  let linear = 0;
  let other = 0;
  let largestLinear = 0;
  for (const [name, shape] of modelWeightShapes(cfg)) {
    const n = numel(shape);
    if (/_proj\.weight$/.test(name)) {
      linear += n;
      largestLinear = Math.max(largestLinear, n);
    } else other += n;
  }
  return { linear, other, largestLinear };
}

/** What both runtimes' accountings start from: the run's sizes and the model's parameter counts. */
interface Counts {
  /** Tokens per sequence, sequences per step, and their product N. */
  s: number;
  b: number;
  N: number;
  ckpt: boolean;
  precision: FullPrecision;
  /** All parameters, those in linear layers, the rest, the largest linear layer, and the adapters'. */
  P: number;
  linear: number;
  other: number;
  largestLinear: number;
  A: number;
  /** The model's hidden size, attention heads, layers and vocabulary. */
  h: number;
  a: number;
  L: number;
  V: number;
  /** Bits of quantization constants per 4-bit parameter: 8/64 + 32/(64·256) with double quantization, else 32/64. */
  constBitsPerParam: number;
}

type Bytes = Omit<MemoryBreakdown['bytes'], 'total'>;

/** A GPU with PyTorch: bf16 weights (4-bit for QLoRA), mixed precision for full fine-tuning, the papers' activations. */
function pytorchBytes(o: MemoryOptions, c: Counts): Bytes {
  const { s, b, N, P, linear, other, A, h, a, L, V } = c;
  const out: Bytes = { weights: P * 2, masterWeights: 0, quantizationConstants: 0, adapters: 0, gradients: 0, optimizerStates: 0, activations: 0, overhead: 0 };
  if (o.method === 'qlora') {
    out.weights = linear * 0.5 + other * 2;
    out.quantizationConstants = (linear * c.constBitsPerParam) / 8;
  }
  if (o.method === 'full') {
    const per = FULL_FINETUNE_BYTES[c.precision];
    out.gradients = per.gradients * P;
    out.masterWeights = per.masterWeights * P;
    out.optimizerStates = per.optimizerStates * P;
  } else {
    const bytes = o.method === 'qlora' ? 2 : 4; // PEFT upcasts LoRA weights to float32; QLoRA keeps them in bf16
    out.adapters = bytes * A;
    out.gradients = bytes * A;
    out.optimizerStates = 8 * A;
  }
  const perLayerFull = s * b * h * (34 + (5 * a * s) / h);
  out.activations = (c.ckpt ? L * 2 * s * b * h + perLayerFull : L * perLayerFull) + N * V * (2 + 4);
  return out;
}

/** LoRA Lab on this machine's CPU: float32 compute, TF.js's saved tensors, the wasm heap's slack and the process. */
function loralabBytes(cfg: ShapeConfig, o: MemoryOptions, c: Counts): Bytes {
  const { s, b, N, P, linear, other, A, h, a, L, V } = c;
  const I = cfg.intermediateSize;
  const kvDim = cfg.numKeyValueHeads * cfg.headDim;
  const qDim = a * cfg.headDim;
  const embedBytes = (o.checkpointBytesPerParam ?? 2) === 2 && o.method !== 'full' ? 2 : 4;
  const out: Bytes = { weights: P * 4, masterWeights: 0, quantizationConstants: 0, adapters: 0, gradients: 0, optimizerStates: 0, activations: 0, overhead: 0 };
  if (o.method === 'qlora') {
    out.weights = linear * 0.5 + (other - V * h) * 4 + V * h * embedBytes;
    out.quantizationConstants = (linear * c.constBitsPerParam) / 8;
  } else if (o.method === 'lora') out.weights = linear * 4 + (other - V * h) * 4 + V * h * embedBytes;
  if (o.method === 'full') {
    out.gradients = 4 * P;
    out.optimizerStates = 8 * P;
  } else {
    out.adapters = 4 * A;
    out.gradients = 4 * A;
    out.optimizerStates = 8 * A;
  }
  // float32 values TF.js keeps for the backward pass, per layer, counted from our Gemma layer's operations:
  // two RMSNorms (input, squares, normalised: 3·h each), q/k/v/o inputs and outputs, RoPE (2 tensors each for q
  // and k), scores and probabilities (2·a·s² per sequence), the MLP's gate, up, GELU's intermediates (x³, inner,
  // tanh) and the product (6·I), and the residual sums.
  const perToken = 6 * h + 2 * h + 3 * qDim + 4 * kvDim + 2 * qDim + 6 * I + 2 * h;
  const perLayer = N * perToken + 2 * b * a * s * s;
  // the output head: with a frozen head the loss is fused and holds a few [N, headRows] vocabulary chunks; a trainable
  // head materialises logits, log-softmax, one-hot and their product
  const headRows = Math.min(V, headChunkRows(h)); // Embedding.chunkRows
  const head = o.method === 'full' ? 4 * N * V : 3 * N * headRows;
  const layers = c.ckpt ? L * N * h + perLayer : L * perLayer;
  out.activations = 4 * (layers + head);
  // What exists besides weights and activations, at the peak: a 4-bit layer's dequantized piece of at most
  // DENSE_PIECE_ELEMENTS values (Linear4bit.maxDenseElements) three times — the piece, XNNPACK's packed copy of it
  // as the right-hand operand of the backward product, and the previous piece until it is freed — and the frozen
  // output head's chunk of the embedding table (Embedding.chunkRows rows) twice: its tensor and the packed copy.
  // TF.js's wasm heap only grows, and its allocator's high-water mark across tensors of many sizes is about twice
  // what is live at once (448 MB of heap for 207 MB counted on the Gemma-2B step): HEAP_SLACK more of the same.
  // Plus the process with TF.js loaded. Checked against bench/results/gemma2b-step.json by the tests.
  const piece = Math.min(c.largestLinear, DENSE_PIECE_ELEMENTS);
  const headChunk = o.method === 'full' ? 0 : headRows * h;
  const transient = 4 * ((o.method === 'qlora' ? 3 * piece : 0) + 2 * headChunk);
  out.overhead = LORALAB_PROCESS_BYTES + transient + HEAP_SLACK * (transient + out.activations);
  return out;
}

export function predictMemory(cfg: ShapeConfig, o: MemoryOptions): MemoryBreakdown {
  const runtime = o.runtime ?? 'pytorch';
  const precision = o.precision ?? 'mixed';
  if (precision !== 'mixed' && precision !== 'bf16') throw new ArgumentError(`precision must be 'mixed' or 'bf16' (got '${String(precision)}')`, { file: 'predictMemory' });
  const s = o.seqLen ?? 512;
  const b = o.batchSize ?? 1;
  const { linear, other, largestLinear } = linearAndOther(cfg);
  const c: Counts = {
    s,
    b,
    N: s * b,
    ckpt: o.gradientCheckpointing ?? (o.method === 'qlora' && runtime === 'pytorch'),
    precision,
    P: totalParameters(cfg),
    linear,
    other,
    largestLinear,
    A: o.method === 'full' ? 0 : loraParameterCount(cfg, { r: o.r ?? 8, loraAlpha: o.r ?? 8, targetModules: o.targetModules ?? null }),
    h: cfg.hiddenSize,
    a: cfg.numAttentionHeads,
    L: cfg.numHiddenLayers,
    V: cfg.vocabSize,
    constBitsPerParam: (o.doubleQuant ?? true) ? 8 / 64 + 32 / (64 * 256) : 32 / 64,
  };
  const bytes = runtime === 'pytorch' ? pytorchBytes(o, c) : loralabBytes(cfg, o, c);
  const total = bytes.weights + bytes.masterWeights + bytes.quantizationConstants + bytes.adapters + bytes.gradients + bytes.optimizerStates + bytes.activations + bytes.overhead;
  return { parameters: { total: c.P, linear, other, adapters: c.A }, bytes: { ...bytes, total } };
}
