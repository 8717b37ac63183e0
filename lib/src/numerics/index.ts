/** Floor one: bf16 and float16 codecs, the floating dtypes and their rounding, numel. Imports nothing of LoRA Lab. */
export * from './bf16.js';
export * from './float16.js';
export * from './dtype.js';
