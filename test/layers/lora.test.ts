import { describe, expect, it, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Linear, Linear4bit, LoraLinear, BottleneckAdapter, loraScaling } from 'loralab/layers';
import { initBackend } from 'loralab/backend';
import { roundToBf16 } from 'loralab/quant';
import { Rng } from '../../lib/src/util/rng.js';
import { directionalCheck } from '../helpers/gradcheck.js';

beforeAll(async () => {
  await initBackend({ log: false });
});

const rng = new Rng(17);
const IN = 48;
const OUT = 40;
const dense = (seed = 1) => new Linear(IN, OUT, { weight: new Rng(seed).normalArray(IN * OUT, 0.2), trainable: false });
const quant = (computeDtype: 'float32' | 'bfloat16' = 'float32') => Linear4bit.fromWeight(new Rng(1).normalArray(IN * OUT, 0.2), OUT, IN, { quantType: 'nf4', doubleQuant: true, computeDtype });
const X = () => tf.tensor3d(rng.normalArray(2 * 3 * IN), [2, 3, IN]);

/** y ↦ Σ y ⊙ R, a loss that is linear in y. */
function linearLoss(out: number[]): (y: tf.Tensor) => tf.Scalar {
  const R = tf.tensor(new Rng(5).normalArray(out.reduce((a, b) => a * b, 1)), out);
  return (y) => tf.sum(y.mul(R));
}

function randomizeB(l: LoraLinear, seed = 3): void {
  l.loraB.assign(tf.tensor2d(new Rng(seed).normalArray(OUT * l.r, 0.3), [OUT, l.r]));
}

describe('LoraLinear: initialisation and scaling (PEFT semantics)', () => {
  it('scaling = alpha / r, or alpha / sqrt(r) with rsLoRA', () => {
    expect(new LoraLinear(dense(), { r: 8, loraAlpha: 16 }).scaling).toBe(2);
    expect(new LoraLinear(dense(), { r: 16, loraAlpha: 16, useRslora: true }).scaling).toBe(4);
    expect(loraScaling(64, 16)).toBe(0.25);
  });
  it('init true: A ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming a=sqrt 5), B = 0; gaussian: A ~ N(0, 1/r^2)', () => {
    const l = new LoraLinear(dense(), { r: 4, loraAlpha: 8 });
    const a = l.loraA.dataSync();
    expect(l.loraA.shape).toEqual([4, IN]);
    expect(l.loraB.shape).toEqual([OUT, 4]);
    expect(Math.max(...Array.from(a, Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(IN));
    expect(Math.max(...Array.from(a, Math.abs))).toBeGreaterThan(0.8 / Math.sqrt(IN));
    expect(l.loraB.dataSync().every((v) => v === 0)).toBe(true);
    const g = new LoraLinear(dense(), { r: 4, loraAlpha: 8, initLoraWeights: 'gaussian' });
    const ga = Array.from(g.loraA.dataSync());
    const std = Math.sqrt(ga.reduce((s, v) => s + v * v, 0) / ga.length);
    expect(std).toBeGreaterThan(0.2);
    expect(std).toBeLessThan(0.3);
  });
  it('zero-init B gives exactly the base outputs, and the gradient of A is exactly zero at step 0', () => {
    for (const base of [dense(), quant()]) {
      const l = new LoraLinear(base, { r: 4, loraAlpha: 8 });
      const x = X();
      expect(Array.from(l.forward(x).dataSync())).toEqual(Array.from(base.forward(x).dataSync()));
      const loss = linearLoss([2, 3, OUT]);
      const { grads } = tf.variableGrads(() => loss(l.forward(x)), [l.loraA, l.loraB]);
      expect(grads[l.loraA.name].dataSync().every((v) => v === 0)).toBe(true);
      expect(grads[l.loraB.name].dataSync().some((v) => v !== 0)).toBe(true);
    }
  });
  it('the base never gets a gradient; only lora_A and lora_B are trainable', () => {
    const l = new LoraLinear(dense(), { r: 2, loraAlpha: 2 });
    const names = [...l.namedParameters()].map((p) => `${p.name}:${p.trainable}`);
    expect(names).toEqual(['base_layer.weight:false', 'lora_A.weight:true', 'lora_B.weight:true']);
    expect(l.trainableVariables()).toHaveLength(2);
  });
  it('forward trace: y = base + scaled, scaled = scaling * xAB', () => {
    const l = new LoraLinear(dense(), { r: 3, loraAlpha: 6 });
    randomizeB(l);
    const t = l.forward(X(), { trace: true });
    expect(t.xA.shape).toEqual([2, 3, 3]);
    const y = t.y.dataSync();
    const b = t.base.dataSync();
    const s = t.scaled.dataSync();
    const ab = t.xAB.dataSync();
    for (let i = 0; i < y.length; i++) {
      expect(y[i]).toBe(Math.fround(b[i] + s[i]));
      expect(s[i]).toBe(Math.fround(ab[i] * 2));
    }
  });
  it('dropout acts on the adapter input only, in training mode, repeatably', () => {
    const l = new LoraLinear(dense(), { r: 4, loraAlpha: 8, loraDropout: 0.5, seed: 9 });
    randomizeB(l);
    const x = X();
    const evalY = l.forward(x).dataSync();
    expect(l.forward(x).dataSync()).toEqual(evalY);
    l.train();
    const t = l.forward(x, { trace: true });
    const base = l.baseLayer.forward(x).dataSync();
    expect(Array.from(t.base.dataSync())).toEqual(Array.from(base));
    expect(Array.from(t.y.dataSync())).not.toEqual(Array.from(evalY));
  });
});

describe('gradient checks against finite differences', () => {
  for (const [label, make] of [['dense f32 base', () => dense()], ['4-bit NF4 base', () => quant('float32')]] as const) {
    it(`LoraLinear over a ${label}: dL/dA, dL/dB and dL/dx`, () => {
      const l = new LoraLinear(make(), { r: 4, loraAlpha: 8 });
      randomizeB(l);
      const xv = tf.variable(X());
      const loss = linearLoss([2, 3, OUT]);
      const f = () => loss(l.forward(xv));
      const { grads } = tf.variableGrads(f, [l.loraA, l.loraB, xv]);
      for (const v of [l.loraA, l.loraB, xv]) {
        const c = directionalCheck(f, v, grads[v.name], { eps: 0.1 });
        expect(c.relErr, `${v.name}: analytic ${c.analytic} numeric ${c.numeric}`).toBeLessThan(1e-3);
      }
    });
  }
  it('Linear4bit with bf16 compute: dL/dx = dL/dy · W_deq (the rounding of x is passed straight through)', () => {
    const q = quant('bfloat16');
    const x = tf.variable(X());
    const R = tf.tensor(new Rng(5).normalArray(2 * 3 * OUT), [2, 3, OUT]);
    const { grads } = tf.variableGrads(() => tf.sum(q.forward(x).mul(R)), [x]);
    const want = tf.matMul(R.reshape([6, OUT]) as tf.Tensor2D, tf.tensor2d(q.denseWeight(), [OUT, IN])).reshape([2, 3, IN]);
    const g = grads[x.name].dataSync();
    const w = want.dataSync();
    for (let i = 0; i < g.length; i++) expect(g[i]).toBeCloseTo(w[i], 4);
    // and the forward really used bf16 operands
    const y = q.forward(x).dataSync();
    const ref = tf.matMul(tf.tensor2d(roundToBf16(x.dataSync() as Float32Array), [6, IN]), tf.tensor2d(q.denseWeight(), [OUT, IN]), false, true).dataSync();
    expect(Array.from(y)).toEqual(Array.from(ref));
  });
  it('bottleneck adapter: every parameter', () => {
    const a = new BottleneckAdapter(IN, { bottleneck: 6, seed: 2 });
    a.up.setWeight(new Rng(4).normalArray(IN * 6, 0.3));
    const z = X();
    const loss = linearLoss([2, 3, IN]);
    const f = () => loss(a.forward(z));
    const vars = a.trainableVariables();
    expect(vars).toHaveLength(4);
    const { grads } = tf.variableGrads(f, vars);
    for (const v of vars) {
      const c = directionalCheck(f, v, grads[v.name], { eps: 1e-2 });
      expect(c.relErr, v.name).toBeLessThan(2e-2);
    }
    expect(BottleneckAdapter.parameterCount(IN, 6)).toBe(vars.reduce((s, v) => s + v.size, 0));
  });
});

describe('merge and unmerge', () => {
  it('f32 base: adapter forward equals merged forward (float32 rounding), unmerge restores the base bit for bit', () => {
    const base = dense();
    const before = Array.from(base.weight.dataSync());
    const l = new LoraLinear(base, { r: 4, loraAlpha: 8 });
    randomizeB(l);
    const x = X();
    const yAdapter = l.forward(x).dataSync();
    l.merge();
    expect(l.merged).toBe(true);
    const yMerged = l.forward(x).dataSync();
    for (let i = 0; i < yAdapter.length; i++) expect(yMerged[i]).toBeCloseTo(yAdapter[i], 4);
    expect(Array.from(base.weight.dataSync())).not.toEqual(before);
    l.unmerge();
    expect(Array.from(base.weight.dataSync())).toEqual(before);
    expect(Array.from(l.forward(x).dataSync())).toEqual(Array.from(yAdapter));
  });
  it('4-bit base: the merged output differs exactly by the requantization error and the bf16 rounding of x', () => {
    const base = quant('bfloat16');
    const l = new LoraLinear(base, { r: 4, loraAlpha: 8 });
    randomizeB(l);
    const x = X();
    const xv = x.dataSync() as Float32Array;
    const xr = roundToBf16(xv);
    const wq = base.denseWeight(); // dequantized bf16 values of the original 4-bit weight
    const delta = l.getDeltaWeight();
    const yAdapter = l.forward(x).dataSync();
    const report = l.merge();
    const wMerged = base.denseWeight(); // requant(W + Δ), dequantized
    const yMerged = l.forward(x).dataSync();
    // y_adapter = x̂ Wqᵀ + x Δᵀ;  y_merged = x̂ W'ᵀ   with x̂ = bf16(x),  W' = requant(Wq + Δ)
    // => y_merged − y_adapter = x̂ (W' − Wq − Δ)ᵀ + (x̂ − x) Δᵀ
    let maxDiff = 0;
    for (let t = 0; t < 6; t++) {
      for (let o = 0; o < OUT; o++) {
        let e = 0;
        for (let i = 0; i < IN; i++) e += xr[t * IN + i] * (wMerged[o * IN + i] - wq[o * IN + i] - delta[o * IN + i]) + (xr[t * IN + i] - xv[t * IN + i]) * delta[o * IN + i];
        const diff = yMerged[t * OUT + o] - yAdapter[t * OUT + o];
        maxDiff = Math.max(maxDiff, Math.abs(diff));
        expect(diff).toBeCloseTo(e, 3);
      }
    }
    expect(maxDiff).toBeGreaterThan(0);
    expect(report.requantizationError!.maxAbs).toBeGreaterThan(0);
    expect(report.requantizationError!.rms).toBeLessThan(0.1);
    const packedMerged = base.state.packed;
    l.unmerge();
    expect(base.state.packed).not.toBe(packedMerged);
    expect(Array.from(l.forward(x).dataSync())).toEqual(Array.from(yAdapter));
  });
  it('safeMerge refuses non-finite weights and leaves the layer untouched', () => {
    const base = dense();
    const before = Array.from(base.weight.dataSync());
    const l = new LoraLinear(base, { r: 2, loraAlpha: 4 });
    l.loraB.assign(tf.fill([OUT, 2], NaN));
    expect(() => l.merge({ safeMerge: true })).toThrow(/NaNs detected in the merged weights/);
    expect(l.merged).toBe(false);
    expect(Array.from(base.weight.dataSync())).toEqual(before);
  });
  it('PiSSA: adapter holds the top-r singular directions and base + adapter equals the original weight', () => {
    const w = new Rng(8).normalArray(IN * OUT, 0.2);
    const base = new Linear(IN, OUT, { weight: w.slice(), trainable: false });
    const l = new LoraLinear(base, { r: 6, loraAlpha: 12, initLoraWeights: 'pissa' });
    const eff = l.denseWeight();
    for (let i = 0; i < w.length; i++) expect(eff[i]).toBeCloseTo(w[i], 4);
    // the residual has a smaller spectral norm than W (its top-6 directions were moved to the adapter)
    const resNorm = Math.sqrt(base.denseWeight().reduce((s, v) => s + v * v, 0));
    const wNorm = Math.sqrt(w.reduce((s, v) => s + v * v, 0));
    expect(resNorm).toBeLessThan(wNorm);
    expect(l.loraB.dataSync().some((v) => v !== 0)).toBe(true);
  });
});
