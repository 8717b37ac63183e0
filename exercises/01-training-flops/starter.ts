export function trainingFlops(nParams: number, tokens: number): number {
  return 2 * nParams * tokens; // TODO: forward and backward
}
export function inferenceFlops(nParams: number, tokens: number): number {
  return 2 * nParams * tokens;
}
export function trainingHours(nParams: number, tokens: number, peakFlopsPerSecond: number, utilization: number): number {
  // TODO: validate utilization, divide by the achieved rate, convert to hours
  return trainingFlops(nParams, tokens) / peakFlopsPerSecond;
}
