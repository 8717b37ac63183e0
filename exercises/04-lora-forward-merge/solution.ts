/** γ = α/r (LoRA), or α/√r (rsLoRA). */
export function loraScaling(r: number, alpha: number, useRslora = false): number {
  return useRslora ? alpha / Math.sqrt(r) : alpha / r;
}
const matmulT = (X: number[][], W: number[][]) => X.map((row) => W.map((w) => w.reduce((s, v, j) => s + v * row[j], 0))); // X Wᵀ

/** h = x W0ᵀ + γ (x Aᵀ) Bᵀ: the adapter path is r wide and never forms BA. */
export function loraForward(x: number[][], W0: number[][], A: number[][], B: number[][], scaling: number): number[][] {
  const base = matmulT(x, W0);
  const xa = matmulT(x, A);       // [batch][r]
  const xab = matmulT(xa, B);     // [batch][d_out]
  return base.map((row, i) => row.map((v, j) => v + scaling * xab[i][j]));
}

/** W0 + γ B A. */
export function mergeWeight(W0: number[][], A: number[][], B: number[][], scaling: number): number[][] {
  return W0.map((row, i) => row.map((w, j) => w + scaling * B[i].reduce((s, b, k) => s + b * A[k][j], 0)));
}
