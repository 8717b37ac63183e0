export function loraTrainingBytes(o: { totalParams: number; adapterParams: number; baseBytes: number; adapterBytes: number }): { weights: number; adapters: number; gradients: number; optimizerStates: number; total: number } {
  const weights = o.totalParams * o.baseBytes;
  // TODO: the frozen base has no gradient and no optimizer state: which parameters do?
  const gradients = o.totalParams * o.baseBytes;
  const optimizerStates = o.totalParams * 8;
  return { weights, adapters: 0, gradients, optimizerStates, total: weights + gradients + optimizerStates };
}
