export function bitsPerParameter(o: { n: number; blocksize: number; doubleQuant: boolean; nestedBlocksize?: number }): number {
  // TODO: count the stored bytes (codes, constants) and divide the bits by n
  return 4 + 32 / o.blocksize;
}
