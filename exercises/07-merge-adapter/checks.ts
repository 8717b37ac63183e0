import type { Exercise, Helpers } from '../grader/types.js';

interface ML { weight: Float32Array; merged: boolean; merge(d: Float32Array, o?: { safeMerge?: boolean }): void; unmerge(): void; forward(x: Float32Array, b: number): Float32Array }
type Ctor = new (w: Float32Array, o: number, i: number) => ML;
const make = (m: Record<string, unknown>, t: Helpers, seed: number) => {
  const g = t.rng(seed);
  const W = Float32Array.from({ length: 6 * 5 }, () => g.normal());
  const D = Float32Array.from({ length: 6 * 5 }, () => 1e-3 * g.normal());
  return { layer: new (m.MergeableLinear as Ctor)(W.slice(), 6, 5), W, D, g };
};
const throws = (f: () => void) => { try { f(); return null; } catch (e) { return e instanceof Error ? e.message : String(e); } };

export default {
  title: 'Merge and unmerge an adapter, safely',
  exports: ['MergeableLinear'],
  forbiddenImports: ['LoraLinear'],
  readNext: 'notebooks/07-practice.ipynb (merge) and notebooks/06-qlora.ipynb (merging into a 4-bit base)',
  checks: [
    { name: 'forward after merge = base + delta', points: 2, hint: 'merge adds delta element-wise to the [out, in] weight', run: (m, t) => {
      const { layer, W, D, g } = make(m, t, 1);
      const x = Float32Array.from({ length: 3 * 5 }, () => g.normal());
      layer.merge(D);
      const want = new Float32Array(18);
      for (let b = 0; b < 3; b++) for (let o = 0; o < 6; o++) { let s = 0; for (let i = 0; i < 5; i++) s += x[b * 5 + i] * (W[o * 5 + i] + D[o * 5 + i]); want[b * 6 + o] = s; }
      t.allClose(layer.forward(x, 3), want, 1e-5, 'outputs after merge');
    } },
    { name: 'unmerge restores the weight bit for bit', points: 4, hint: "(W + ΔW) − ΔW is not W in float32: keep the original instead of subtracting", run: (m, t) => {
      const { layer, W } = make(m, t, 2);
      const D = Float32Array.from(W, (_, i) => (i % 2 ? 0.1 : 1e-3) * 3.3333);
      layer.merge(D);
      layer.unmerge();
      const a = new Uint32Array(Float32Array.from(layer.weight).buffer), b = new Uint32Array(W.buffer);
      for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) t.fail(`after unmerge, weight[${i}] is ${layer.weight[i]} but was ${W[i]} before merge (bits 0x${a[i].toString(16)} vs 0x${b[i].toString(16)}): subtracting ΔW leaves rounding residue`);
      if (layer.merged) t.fail('merged is still true after unmerge');
    } },
    { name: 'safe merge refuses a non-finite result and leaves the layer untouched', points: 2, hint: 'compute the merged values into a new array, check them, then swap', run: (m, t) => {
      const { layer, W, D } = make(m, t, 3);
      D[7] = Number.NaN;
      const msg = throws(() => layer.merge(D, { safeMerge: true }));
      if (msg === null) return t.fail('merge({ safeMerge: true }) with a NaN in delta did not throw');
      if (!/not finite/.test(msg)) t.fail(`the error should say the result is "not finite"; it said: ${msg}`);
      if (layer.merged) t.fail('merged is true after a refused merge');
      t.allClose(layer.weight, W, 0, 'weight after a refused merge');
    } },
    { name: 'merging twice, or unmerging an unmerged layer, is an error', points: 2, hint: 'check this.merged first', run: (m, t) => {
      const { layer, D } = make(m, t, 4);
      if (throws(() => layer.unmerge()) === null) t.fail('unmerge() on a layer that was never merged did not throw');
      layer.merge(D);
      if (throws(() => layer.merge(D)) === null) t.fail('a second merge() did not throw');
    } },
  ],
} satisfies Exercise;
