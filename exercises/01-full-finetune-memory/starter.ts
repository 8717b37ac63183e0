/** Bytes for weights, gradients and optimizer states of full fine-tuning (activations excluded). */
export function fullFineTuneBytes(nParams: number, o: { weightBytes?: number; gradBytes?: number; optimizerBytes?: number } = {}): { weights: number; gradients: number; optimizerStates: number; total: number } {
  const weights = nParams * (o.weightBytes ?? 2);
  // TODO: gradients and optimizer states
  return { weights, gradients: 0, optimizerStates: 0, total: weights };
}

/** The smallest number of GPUs of `gpuBytes` each that hold `totalBytes`. */
export function gpusNeeded(totalBytes: number, gpuBytes: number): number {
  return totalBytes / gpuBytes; // TODO: a whole number of GPUs
}
