/**
 * LoRA Lab: QLoRA for real, with every intermediate exposed.
 *
 *   import { quantizeNF4, dequantize4bit, SafetensorsReader } from 'loralab';
 */
export * from './quant/index.js';
export * from './io/index.js';
export * from './backend/index.js';
