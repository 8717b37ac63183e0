/** TF.js backend choice (LORALAB_BACKEND, tfjs-node, webgpu, wasm, cpu). */
export * from './select.js';
export * from './init.js';
export * from './bf16.js';
