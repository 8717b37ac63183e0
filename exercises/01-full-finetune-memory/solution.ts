/** Bytes for weights, gradients and optimizer states of full fine-tuning (activations excluded). */
export function fullFineTuneBytes(nParams: number, o: { weightBytes?: number; gradBytes?: number; optimizerBytes?: number } = {}): { weights: number; gradients: number; optimizerStates: number; total: number } {
  const weights = nParams * (o.weightBytes ?? 2);
  const gradients = nParams * (o.gradBytes ?? 2);
  const optimizerStates = nParams * (o.optimizerBytes ?? 8); // AdamW: first and second moment, float32 each
  return { weights, gradients, optimizerStates, total: weights + gradients + optimizerStates };
}

/** The smallest number of GPUs of `gpuBytes` each that hold `totalBytes`. */
export function gpusNeeded(totalBytes: number, gpuBytes: number): number {
  return Math.ceil(totalBytes / gpuBytes);
}
