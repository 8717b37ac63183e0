export class MergeableLinear {
  merged = false;
  constructor(public weight: Float32Array, readonly outFeatures: number, readonly inFeatures: number) {}

  merge(delta: Float32Array, opts: { safeMerge?: boolean } = {}): void {
    void opts;
    for (let i = 0; i < this.weight.length; i++) this.weight[i] += delta[i];
    this.merged = true;
    // TODO: safe merge, double merge, and remember how to restore
  }

  unmerge(): void {
    // TODO: restore the weight exactly
    this.merged = false;
  }

  forward(x: Float32Array, batch: number): Float32Array {
    const y = new Float32Array(batch * this.outFeatures);
    for (let b = 0; b < batch; b++) for (let o = 0; o < this.outFeatures; o++) {
      let s = 0;
      for (let i = 0; i < this.inFeatures; i++) s += x[b * this.inFeatures + i] * this.weight[o * this.inFeatures + i];
      y[b * this.outFeatures + o] = s;
    }
    return y;
  }
}
