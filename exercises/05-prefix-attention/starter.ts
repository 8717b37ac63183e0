export function attentionWithPrefix(q: number[][], k: number[][], v: number[][], prefixK: number[][], prefixV: number[][]): number[][] {
  void prefixK; void prefixV;
  // causal attention without the prefix, and without the 1/√d scale: TODO
  return q.map((qi, i) => {
    const scores = k.slice(0, i + 1).map((kj) => Math.exp(kj.reduce((s, x, t) => s + x * qi[t], 0)));
    const z = scores.reduce((a, b) => a + b, 0);
    return v[0].map((_, c) => scores.reduce((s, w, j) => s + (w / z) * v[j][c], 0));
  });
}
