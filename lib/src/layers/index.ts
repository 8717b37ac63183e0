/** Layers: module tree, Linear, Linear4bit, LoraLinear, bottleneck adapters, prefixes, embedding, RMSNorm. */
export * from './module.js';
export * from './linear.js';
export * from './lora.js';
export * from './adapters.js';
export * from './embedding.js';
export * from './norm.js';
export * from './activations.js';
export { PeftConfigError } from './loraChecks.js';
