export class MergeableLinear {
  merged = false;
  private original: Float32Array | null = null;
  constructor(public weight: Float32Array, readonly outFeatures: number, readonly inFeatures: number) {}

  /** weight ← weight + delta, keeping the original so that unmerge is exact. */
  merge(delta: Float32Array, opts: { safeMerge?: boolean } = {}): void {
    if (this.merged) throw new Error('already merged: unmerge first');
    const merged = new Float32Array(this.weight.length);
    for (let i = 0; i < merged.length; i++) merged[i] = this.weight[i] + delta[i];
    if (opts.safeMerge && !merged.every(Number.isFinite)) throw new Error('the merged weight is not finite (a diverged adapter?); the layer is unchanged');
    this.original = this.weight;
    this.weight = merged;
    this.merged = true;
  }

  /** Restore the weight bit for bit ((W + ΔW) − ΔW ≠ W in float32). */
  unmerge(): void {
    if (!this.merged || !this.original) throw new Error('not merged');
    this.weight = this.original;
    this.original = null;
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
