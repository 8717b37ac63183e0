/** PEFT: LoraConfig, target matching, injection, adapter files, merging. */
export * from './config.js';
export * from './targets.js';
export * from './model.js';
export * from './methods.js';
export * from './paramCounts.js';
export * from './params.js';
