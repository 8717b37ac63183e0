/** Gemma (v1) with transformers' module names: config, model, loader. */
export * from './config.js';
export * from './rope.js';
export * from './model.js';
export * from './load.js';
export * from './save.js';
