/**
 * Transpose a row-major [rows, cols] Float32Array into [cols, rows], in 32×32 tiles so that both the reads and the
 * writes stay in cache. LoRA Lab keeps weights as Wᵀ [in, out] for compute because TF.js's wasm backend multiplies
 * x·B about ten times faster than x·Bᵀ (transposeB bypasses its packed-weight path).
 */
export function transpose2d(src: Float32Array, rows: number, cols: number, out = new Float32Array(rows * cols)): Float32Array {
  const T = 32;
  for (let r0 = 0; r0 < rows; r0 += T) {
    const r1 = Math.min(rows, r0 + T);
    for (let c0 = 0; c0 < cols; c0 += T) {
      const c1 = Math.min(cols, c0 + T);
      for (let r = r0; r < r1; r++) {
        const ro = r * cols;
        for (let c = c0; c < c1; c++) out[c * rows + r] = src[ro + c];
      }
    }
  }
  return out;
}
