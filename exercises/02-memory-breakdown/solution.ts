export function loraTrainingBytes(o: { totalParams: number; adapterParams: number; baseBytes: number; adapterBytes: number }): { weights: number; adapters: number; gradients: number; optimizerStates: number; total: number } {
  const weights = o.totalParams * o.baseBytes; // frozen: no gradient, no optimizer state
  const adapters = o.adapterParams * o.adapterBytes;
  const gradients = o.adapterParams * o.adapterBytes;
  const optimizerStates = o.adapterParams * 8; // AdamW m and v in float32
  return { weights, adapters, gradients, optimizerStates, total: weights + adapters + gradients + optimizerStates };
}
