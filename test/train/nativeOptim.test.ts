/**
 * The native AdamW step and global gradient norm (lib/native/src/optim.cc, backend/nativeOps.ts) against the TF.js
 * update in train/optim.ts. The native step does the same float32 operations in the same order, so the parameters
 * and both moments must agree bit for bit, over random shapes, values, hyperparameters, weight decay and clip scales,
 * through several steps. The norm is summed in double natively and in float32 by TF.js: 1e-6 relative.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { initBackend, nativeKernelsActive, setNativeKernels, tf } from 'loralab/backend';
import { AdamW, clipScale, globalGradNorm } from '../../lib/src/train/optim.js';
import { Rng } from '../../lib/src/util/rng.js';

const expectNative = process.env.LORALAB_EXPECT_NATIVE === '1';
const choice = await initBackend({ log: false });
const active = choice.name === 'wasm' && nativeKernelsActive();

interface Case {
  shapes: number[][];
  lr: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  scales: number[];
  seed: number;
}

/** Parameters and both moments after `scales.length` steps, as bit patterns, with the native kernels on or off. */
function run(c: Case, native: boolean): { params: Uint32Array[]; state: Uint32Array[] } {
  setNativeKernels(native);
  const rng = new Rng(c.seed);
  const values = (n: number, spread: number) => Float32Array.from({ length: n }, () => (rng.next() - 0.5) * spread);
  const params = new Map(c.shapes.map((s, i) => [`p${i}`, tf.variable(tf.tensor(values(s.reduce((a, b) => a * b, 1), 2), s))]));
  const opt = new AdamW(params, { beta1: c.beta1, beta2: c.beta2, eps: c.eps, weightDecay: c.weightDecay });
  try {
    for (const scale of c.scales) {
      const grads = new Map([...params].map(([k, p]) => [k, tf.tensor(values(p.size, 6), p.shape)]));
      opt.step(grads, c.lr, undefined, scale);
      for (const g of grads.values()) g.dispose();
    }
    const bits = (a: Float32Array) => new Uint32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
    const st = opt.state();
    return {
      params: [...params.values()].map((p) => bits(p.dataSync() as Float32Array)),
      state: [...st.m.values(), ...st.v.values()].map(bits),
    };
  } finally {
    opt.dispose();
    for (const p of params.values()) p.dispose();
    setNativeKernels(true);
  }
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  shapes: fc.array(fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 4 }),
  lr: fc.constantFrom(1e-4, 3e-3, 0.05),
  weightDecay: fc.constantFrom(0, 0.01, 0.1),
  beta1: fc.constantFrom(0.9, 0.8),
  beta2: fc.constantFrom(0.999, 0.95),
  eps: fc.constantFrom(1e-8, 1e-6),
  scales: fc.array(fc.constantFrom(1, 0.37, 1e-3), { minLength: 1, maxLength: 3 }),
  seed: fc.integer({ min: 1, max: 10_000 }),
});

describe.runIf(expectNative || active)('native AdamW and gradient norm against TF.js', () => {
  it('AdamW: the same bits of every parameter and moment after several steps (property)', () => {
    fc.assert(fc.property(caseArb, (c) => {
      const ref = run(c, false);
      const nat = run(c, true);
      expect(nat.params).toEqual(ref.params);
      expect(nat.state).toEqual(ref.state);
    }), { numRuns: 25, seed: 11 });
  });
  it('a tensor large enough to be split over threads (and one above the grain) gives the same bits', () => {
    const c: Case = { shapes: [[300, 257], [16385]], lr: 1e-3, weightDecay: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, scales: [1, 0.5], seed: 3 };
    expect(run(c, true)).toEqual(run(c, false));
  });
  it('the global norm agrees with the TF.js sum to 1e-6, and the clip scale follows it', () => {
    const rng = new Rng(9);
    const grads = new Map([[3000], [17, 5], [1]].map((s, i) => [`g${i}`, tf.tensor(Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => rng.next() - 0.5), s)]));
    setNativeKernels(false);
    const ref = globalGradNorm(grads);
    setNativeKernels(true);
    const nat = globalGradNorm(grads);
    expect(Math.abs(nat - ref)).toBeLessThanOrEqual(1e-6 * ref);
    expect(clipScale(nat, nat / 2)).toBeCloseTo(0.5, 6);
    expect(clipScale(nat, nat * 2)).toBe(1);
    expect(clipScale(Number.NaN, 1)).toBe(1);
    tf.dispose([...grads.values()]);
  });
});
