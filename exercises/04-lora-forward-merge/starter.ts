export function loraScaling(r: number, alpha: number, useRslora = false): number {
  void useRslora;
  return alpha * r; // TODO
}
export function loraForward(x: number[][], W0: number[][], A: number[][], B: number[][], scaling: number): number[][] {
  void A; void B; void scaling;
  // base only: TODO add the low-rank path
  return x.map((row) => W0.map((w) => w.reduce((s, v, j) => s + v * row[j], 0)));
}
export function mergeWeight(W0: number[][], A: number[][], B: number[][], scaling: number): number[][] {
  void A; void B; void scaling;
  return W0.map((r) => [...r]); // TODO
}
