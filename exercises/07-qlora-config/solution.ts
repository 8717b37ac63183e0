export function qloraBaseBytes(o: { linearParams: number; otherParams: number; blocksize: number; doubleQuant: boolean }): number {
  const constBits = o.doubleQuant ? 8 / o.blocksize + 32 / (o.blocksize * 256) : 32 / o.blocksize;
  return o.linearParams * 0.5 + (o.linearParams * constBits) / 8 + o.otherParams * 2;
}
export function largestRank(o: { budgetBytes: number; baseBytes: number; paramsPerRank: number; bytesPerAdapterParam: number }): number {
  const free = o.budgetBytes - o.baseBytes;
  return free <= 0 ? 0 : Math.floor(free / (o.paramsPerRank * o.bytesPerAdapterParam));
}
