/** Training: data, loss, AdamW and schedules, checkpoints, the trainer, methods, generation. */
export * from './data.js';
export * from './loss.js';
export * from './optim.js';
export * from './checkpoint.js';
export * from './trainer.js';
export * from './methods.js';
export * from './generate.js';
export * from './deviceStep.js';
