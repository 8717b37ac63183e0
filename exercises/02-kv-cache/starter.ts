export function kvCacheBytes(o: { layers: number; kvHeads: number; headDim: number; seqLen: number; batch: number; bytesPerValue: number }): number {
  return o.layers * o.kvHeads * o.headDim * o.seqLen * o.batch * o.bytesPerValue; // TODO: keys AND values
}
export function maxConcurrentSequences(o: { freeBytes: number; layers: number; kvHeads: number; headDim: number; seqLen: number; bytesPerValue: number }): number {
  return o.freeBytes / kvCacheBytes({ ...o, batch: 1 }); // TODO: whole sequences only
}
