/** 6·N·D: 2N per token forward, 4N backward. */
export function trainingFlops(nParams: number, tokens: number): number {
  return 6 * nParams * tokens;
}
/** 2·N·D: one multiply-add per weight per token. */
export function inferenceFlops(nParams: number, tokens: number): number {
  return 2 * nParams * tokens;
}
export function trainingHours(nParams: number, tokens: number, peakFlopsPerSecond: number, utilization: number): number {
  if (!(utilization > 0 && utilization <= 1)) throw new Error(`utilization must be in (0, 1], got ${utilization}`);
  return trainingFlops(nParams, tokens) / (peakFlopsPerSecond * utilization) / 3600;
}
