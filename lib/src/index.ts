/**
 * LoRA Lab: QLoRA for real, with every intermediate exposed.
 *
 *   import { quantizeNF4, dequantize4bit, SafetensorsReader } from 'loralab';
 */
export * from './quant/index.js';
export * from './io/index.js';
export * from './backend/index.js';
export * from './linalg/index.js';
export * from './layers/index.js';
export * from './models/gemma/index.js';
export * from './peft/index.js';
export { Rng } from './util/rng.js';
export * from './sql/index.js';
export * from './train/index.js';
export * from './memory/index.js';
// charts are under 'loralab/viz' (its Layout and Figure types would clash with the io names here)
