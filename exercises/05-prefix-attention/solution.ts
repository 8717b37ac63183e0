/** softmax(q·Kᵀ/√d) V over [prefix keys, real keys 0..i] for each real position i. */
export function attentionWithPrefix(q: number[][], k: number[][], v: number[][], prefixK: number[][], prefixV: number[][]): number[][] {
  const d = q[0]?.length ?? 1;
  return q.map((qi, i) => {
    const keys = [...prefixK, ...k.slice(0, i + 1)];
    const vals = [...prefixV, ...v.slice(0, i + 1)];
    const scores = keys.map((kj) => kj.reduce((s, x, t) => s + x * qi[t], 0) / Math.sqrt(d));
    const mx = Math.max(...scores); // subtract the max: exp never overflows
    const w = scores.map((s) => Math.exp(s - mx));
    const z = w.reduce((a, b) => a + b, 0);
    return vals[0].map((_, c) => w.reduce((s, wj, j) => s + (wj / z) * vals[j][c], 0));
  });
}
