/** 2 (K and V) × layers × KV heads × head dim × tokens × sequences × bytes. */
export function kvCacheBytes(o: { layers: number; kvHeads: number; headDim: number; seqLen: number; batch: number; bytesPerValue: number }): number {
  return 2 * o.layers * o.kvHeads * o.headDim * o.seqLen * o.batch * o.bytesPerValue;
}
export function maxConcurrentSequences(o: { freeBytes: number; layers: number; kvHeads: number; headDim: number; seqLen: number; bytesPerValue: number }): number {
  return Math.floor(o.freeBytes / kvCacheBytes({ ...o, batch: 1 }));
}
