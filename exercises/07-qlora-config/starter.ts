export function qloraBaseBytes(o: { linearParams: number; otherParams: number; blocksize: number; doubleQuant: boolean }): number {
  return (o.linearParams + o.otherParams) / 2; // TODO: constants, and the non-linear parameters stay in bf16
}
export function largestRank(o: { budgetBytes: number; baseBytes: number; paramsPerRank: number; bytesPerAdapterParam: number }): number {
  return Math.round((o.budgetBytes - o.baseBytes) / (o.paramsPerRank * o.bytesPerAdapterParam)); // TODO: never over budget
}
