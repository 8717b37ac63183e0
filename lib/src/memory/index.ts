/** Memory accounting: predicted bytes by component for full fine-tuning, LoRA and QLoRA. */
export * from './predict.js';
