/** File formats: safetensors, Python-compatible JSON. */
export * from './dtypes.js';
export * from './errors.js';
export * from './byteSource.js';
export * from './boundedJson.js';
export * from './safetensorsHeader.js';
export * from './safetensors.js';
export * from './tensors.js';
export * from './floats.js';
export * from './pyjson.js';
export * from './checkpoint.js';
export * from './tokenizer.js';
export * from './byteFallback.js';
export * from './bpe.js';
