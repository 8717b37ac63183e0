export function bitsPerParameter(o: { n: number; blocksize: number; doubleQuant: boolean; nestedBlocksize?: number }): number {
  const codeBytes = Math.ceil(o.n / 2);
  const blocks = Math.ceil(o.n / o.blocksize);
  let constantBytes: number;
  if (o.doubleQuant) {
    const nested = Math.ceil(blocks / (o.nestedBlocksize ?? 256));
    constantBytes = blocks * 1 + nested * 4 + 4; // uint8 absmax codes, float32 nested scales, float32 offset
  } else constantBytes = blocks * 4; // float32 absmax
  return ((codeBytes + constantBytes) * 8) / o.n;
}
