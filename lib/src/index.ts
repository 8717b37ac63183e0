/**
 * LoRA Lab: QLoRA for real, with every intermediate exposed.
 *
 *   import { quantizeNF4, dequantize4bit, SafetensorsReader } from 'loralab';
 *
 * The root names what a learner or a notebook reaches for first, area by area. Everything else each area offers is
 * under its subpath ('loralab/quant', 'loralab/io', 'loralab/layers', 'loralab/models/gemma', 'loralab/peft',
 * 'loralab/train', 'loralab/memory', 'loralab/backend', 'loralab/linalg', 'loralab/viz'); the text-to-SQL grader is
 * task-specific and only under 'loralab/sql'.
 */

// numerics: bf16 and float16 values, the floating dtypes
export { toBf16, fromBf16, roundToBf16, f32ToBf16, bf16ToF32, toF16, fromF16, numel, FLOAT_DTYPES, type FloatDType } from './numerics/index.js';

// io: safetensors, Hugging Face checkpoint folders, tokenizers
export {
  SafetensorsReader,
  SafetensorsWriter,
  writeSafetensors,
  SafetensorsError,
  CheckpointWeights,
  TextTokenizer,
  toFloat32,
  fromFloat32,
  floatTensor,
  type RawTensor,
  type Dtype,
} from './io/index.js';

// quant: NF4/FP4 blockwise, double quantization, bitsandbytes' files
export {
  NF4_CODE,
  FP4_CODE,
  createNormalMap,
  BLOCKSIZES,
  BNB_4BIT_DEFAULTS,
  quantize4bit,
  quantizeNF4,
  quantizeFP4,
  dequantize4bit,
  bitsPerParameter,
  doubleQuantize,
  recoverAbsmax,
  quantizeBlockwise8,
  dequantizeBlockwise8,
  packQuantState,
  unpackQuantState,
  quantizeFile,
  dequantizeFile,
  inspectFile,
  QuantizationError,
  BnbFormatError,
  type QuantType,
  type QuantState4bit,
  type QuantizeOptions,
  type QuantizeTrace,
  type Bnb4bitOptions,
} from './quant/index.js';

// backend: which TF.js backend runs, and TF.js itself
export { initBackend, tf } from './backend/index.js';

// linalg: float64 SVD for initialisations and analysis
export { svdTopK, svdJacobi } from './linalg/index.js';

// layers: the module tree, base layers, LoRA, the comparison methods
export {
  Module,
  countParameters,
  Linear,
  Linear4bit,
  MetaLinear,
  LoraLinear,
  loraScaling,
  BottleneckAdapter,
  PrefixKV,
  Embedding,
  GemmaRMSNorm,
  type ParameterCount,
  type LoraTrace,
  type MergeReport,
} from './layers/index.js';

// models: Gemma with transformers' module names
export { GemmaForCausalLM, GEMMA_2B_CONFIG_JSON, parseGemmaConfig, readGemmaConfig, loadGemma, createGemma, saveGemma, type GemmaConfig, type LoadOptions, type LoadedGemma } from './models/gemma/index.js';

// peft: LoraConfig, injection, adapter files, parameter counts
export {
  LORA_DEFAULTS,
  DEFAULT_TARGET_MODULES,
  loraConfig,
  getPeftModel,
  loadPeftAdapter,
  PeftModel,
  PeftConfigError,
  addBottleneckAdapters,
  addPrefixTuning,
  loraParameterCount,
  methodTable,
  namedConfig,
  type LoraConfig,
} from './peft/index.js';

// train: the trainer, the five methods, generation
export { Trainer, prepareMethod, METHODS, QLORA_LOAD_OPTIONS, AdamW, causalLmLoss, generate, readJsonl, type Method, type TrainOptions } from './train/index.js';

// memory: predicted bytes by component
export { predictMemory, type MemoryOptions, type MemoryBreakdown } from './memory/index.js';

// errors: every error LoRA Lab throws is a LoraLabError (file, field, expected); each area's own class is named above
export { LoraLabError, ArgumentError, ShapeError, InternalError, type ErrorContext } from './util/errors.js';

export { Rng } from './util/rng.js';
// charts are under 'loralab/viz' (its Layout and Figure types would clash with the io names here)
