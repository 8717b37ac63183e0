/**
 * The native fused decoder layer and head loss (lib/native/src/gemma_layer.cc, models/gemma/fusedLayer.ts,
 * backend/nativeOps.ts nativeHeadLoss) against the TF.js reference ops: the same loss and the same gradients of
 * every trainable tensor, over random small Gemma shapes (multi-query and multi-head attention, odd sizes, padding),
 * for LoRA, full fine-tuning and QLoRA, with and without gradient checkpointing.
 *
 * Tolerances: float32 LoRA and full fine-tuning agree to 2e-4 in relative RMS (the native code sums in another
 * order); QLoRA to 5e-3, because bf16 rounding of a projection's input turns a last-bit difference upstream into an
 * occasional one-bf16-step difference (2⁻⁸ relative) of an element.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, nativeKernelsActive, setNativeKernels, tf } from 'loralab/backend';
import { createGemma, loadGemma, parseGemmaConfig, saveGemma, type GemmaForCausalLM } from 'loralab/models/gemma';
import { prepareMethod, QLORA_LOAD_OPTIONS, type Method } from 'loralab/train';
import { headLoss } from '../../lib/src/train/loss.js';
import { descriptorFields, fusedDecoderLayer } from '../../lib/src/models/gemma/fusedLayer.js';
import { nativeHeadLoss } from '../../lib/src/backend/nativeOps.js';
import { activeNativeAddon } from '../../lib/src/backend/nativeKernels.js';
import { Rng } from '../../lib/src/util/rng.js';
import { relRms } from '../helpers/metrics.js';

const expectNative = process.env.LORALAB_EXPECT_NATIVE === '1';
const choice = await initBackend({ log: false });
const active = choice.name === 'wasm' && nativeKernelsActive();

const ALL_LINEAR = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

interface Shape { nH: number; nKV: number; hd: number; H: number; I: number; B: number; T: number; layers: number }

function makeModel(s: Shape, method: Method, seed: number): { model: GemmaForCausalLM; vars: tf.Variable[] } {
  const json = {
    architectures: ['GemmaForCausalLM'], model_type: 'gemma', hidden_size: s.H, head_dim: s.hd, intermediate_size: s.I,
    num_attention_heads: s.nH, num_key_value_heads: s.nKV, num_hidden_layers: s.layers, vocab_size: 37, rms_norm_eps: 1e-6,
    rope_theta: 10000, max_position_embeddings: 64, bos_token_id: 2, eos_token_id: 1, pad_token_id: 0, hidden_act: 'gelu_pytorch_tanh', torch_dtype: 'float32',
  };
  const cfg = parseGemmaConfig(json);
  let model = createGemma(cfg, { seed, initializerRange: 0.3, trainable: method === 'full' });
  if (method === 'qlora') {
    const dir = mkdtempSync(join(tmpdir(), 'fused-qlora-'));
    saveGemma(model, dir, { dtype: 'float32' });
    writeFileSync(join(dir, 'config.json'), JSON.stringify(json));
    model.dispose();
    model = loadGemma(dir, QLORA_LOAD_OPTIONS).model;
  }
  const { trainable } = prepareMethod(model, method, { r: 1 + (seed % 3), targetModules: ALL_LINEAR, seed });
  const rng = new Rng(seed);
  // LoRA B starts at zero; random B and norm weights make every path of the backward carry a gradient
  for (const [name, v] of trainable.params) if (name.includes('lora_B')) v.assign(tf.tensor(rng.normalArray(v.size, 0.3), v.shape));
  for (const [name, m] of model.namedModules()) {
    const w = (m as { weight?: unknown }).weight;
    if (name.endsWith('layernorm') && w instanceof tf.Variable) w.assign(tf.tensor(rng.normalArray(w.size, 0.3), w.shape));
  }
  model.train();
  return { model, vars: [...trainable.params.values()] };
}

function batch(s: Shape, seed: number): { ids: number[][]; labels: number[][]; attentionMask: number[][] } {
  const rng = new Rng(seed + 101);
  const ids = Array.from({ length: s.B }, () => Array.from({ length: s.T }, () => 3 + Math.floor(rng.next() * 34)));
  // the last row is right-padded from a random point (its keys there are masked, its labels ignored)
  const cut = 1 + Math.floor(rng.next() * s.T);
  const attentionMask = ids.map((r, b) => r.map((_, t) => (b === s.B - 1 && b > 0 && t >= cut ? 0 : 1)));
  const labels = ids.map((r, b) => r.map((x, t) => (t === 0 || attentionMask[b][t] === 0 ? -100 : x)));
  labels[0][s.T - 1] = ids[0][s.T - 1]; // at least one label counts
  return { ids, labels, attentionMask };
}

/** Loss and gradients (by variable name) with the native kernels on or off. */
function lossAndGrads(model: GemmaForCausalLM, vars: tf.Variable[], b: ReturnType<typeof batch>, native: boolean): { loss: number; grads: Map<string, Float32Array> } {
  setNativeKernels(native);
  try {
    const r = model.valueAndGrads(b.ids, { attentionMask: b.attentionMask }, headLoss(model, b.labels), vars);
    const grads = new Map<string, Float32Array>();
    for (const [v, g] of r.grads) {
      grads.set(v.name, g.dataSync() as Float32Array);
      g.dispose();
    }
    return { loss: r.value, grads };
  } finally {
    setNativeKernels(true);
  }
}

const shapeArb = fc.record({
  nKV: fc.integer({ min: 1, max: 2 }), groups: fc.integer({ min: 1, max: 3 }), hd: fc.constantFrom(2, 4, 6),
  H: fc.integer({ min: 3, max: 13 }), I: fc.integer({ min: 1, max: 11 }), B: fc.integer({ min: 1, max: 3 }), T: fc.integer({ min: 2, max: 9 }),
  layers: fc.integer({ min: 1, max: 2 }),
}).map((r) => ({ ...r, nH: r.nKV * r.groups }));

/** RMS of a − b (of a alone without b). */
function rms(a: ArrayLike<number>, b?: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] - (b ? b[i] : 0)) ** 2;
  return Math.sqrt(sum / Math.max(1, a.length));
}

function expectAgree(method: Method, s: Shape, seed: number, tol: number, checkpointing: boolean): void {
  const { model, vars } = makeModel(s, method, seed);
  try {
    model.model.gradientCheckpointing = checkpointing;
    const b = batch(s, seed);
    const ref = lossAndGrads(model, vars, b, false);
    const nat = lossAndGrads(model, vars, b, true);
    expect(Math.abs(nat.loss - ref.loss)).toBeLessThanOrEqual(tol * Math.abs(ref.loss));
    expect([...nat.grads.keys()].sort()).toEqual([...ref.grads.keys()].sort());
    for (const [name, g] of ref.grads) {
      // relative RMS, with an absolute floor for a gradient that is exactly zero (e.g. q and k when every query that
      // counts sees one key), where the native sums leave denormal noise
      const err = rms(nat.grads.get(name)!, g);
      if (!(err <= tol * rms(g) + 1e-12)) expect({ name, err, rmsRef: rms(g), tol, shape: s }).toBeNull();
    }
  } finally {
    model.dispose();
  }
}

describe.runIf(expectNative || active)('native fused Gemma layer and head against the TF.js reference', () => {
  it('LoRA on every linear layer: same loss and gradients (property over shapes, MQA/GQA/MHA, padding)', () => {
    fc.assert(fc.property(shapeArb, fc.integer({ min: 1, max: 1000 }), (s, seed) => expectAgree('lora', s, seed, 2e-4, false)), { numRuns: 12, seed: 5 });
  });
  it('full fine-tuning: the gradients of every weight and norm too', () => {
    fc.assert(fc.property(shapeArb, fc.integer({ min: 1, max: 1000 }), (s, seed) => expectAgree('full', s, seed, 2e-4, false)), { numRuns: 6, seed: 6 });
  });
  it('with gradient checkpointing (the op recomputed layer by layer)', () => {
    fc.assert(fc.property(shapeArb, fc.integer({ min: 1, max: 1000 }), (s, seed) => expectAgree('lora', s, seed, 2e-4, true)), { numRuns: 4, seed: 7 });
  });
  it('QLoRA (NF4, double quantization, bf16 compute; blocksize-aligned widths)', () => {
    expectAgree('qlora', { nH: 4, nKV: 1, hd: 16, H: 64, I: 128, B: 2, T: 7, layers: 2 }, 3, 5e-3, false);
    expectAgree('qlora', { nH: 2, nKV: 2, hd: 32, H: 64, I: 64, B: 1, T: 5, layers: 1 }, 4, 5e-3, true);
    // layers below the top are recomputed for their backward, the top one's intermediates are kept from its forward
    expectAgree('qlora', { nH: 2, nKV: 1, hd: 32, H: 64, I: 128, B: 2, T: 5, layers: 3 }, 6, 5e-3, true);
  });
  it('QLoRA with weights above one 1M-value piece (dequantized and multiplied piece by piece, forward and backward)', () => {
    // gate/up [4100, 256] and down [256, 4100]: 1.05M values each, two pieces
    expectAgree('qlora', { nH: 2, nKV: 1, hd: 64, H: 256, I: 4100, B: 1, T: 3, layers: 1 }, 5, 5e-3, false);
  }, 60_000);
  it('QLoRA with weights split over the cores (each thread dequantizing and multiplying its own rows, or its own columns of dx)', () => {
    // gate/up [1024, 256] (262144 values, in a multiple of the blocksize) go split; q, k, v, o stay whole; checkpointed,
    // so the recomputed forward, the kept top layer and the backward all run through it
    expectAgree('qlora', { nH: 2, nKV: 1, hd: 64, H: 256, I: 1024, B: 2, T: 5, layers: 2 }, 8, 5e-3, true);
    // down [256, 1088] too (in = 17 blocks: the threads' columns are 9 and 8 blocks)
    expectAgree('qlora', { nH: 2, nKV: 1, hd: 64, H: 256, I: 1088, B: 1, T: 4, layers: 1 }, 10, 5e-3, false);
  }, 60_000);
  it("the loops on the BLAS's OpenMP pool (parallel tasks) and on the calling thread give the same loss and gradients", () => {
    const addon = activeNativeAddon()!;
    const shared = addon.setSharedPool(true);
    try {
      for (const [method, s] of [['lora', { nH: 4, nKV: 2, hd: 8, H: 24, I: 40, B: 3, T: 9, layers: 2 }], ['full', { nH: 2, nKV: 1, hd: 6, H: 13, I: 11, B: 2, T: 5, layers: 1 }]] as const) {
        const { model, vars } = makeModel(s, method, 21);
        try {
          const b = batch(s, 21);
          const pooled = lossAndGrads(model, vars, b, true);
          expect(addon.setSharedPool(false)).toBe(false);
          const own = lossAndGrads(model, vars, b, true);
          addon.setSharedPool(true);
          expect(Math.abs(own.loss - pooled.loss)).toBeLessThanOrEqual(1e-6 * Math.abs(pooled.loss));
          for (const [name, g] of pooled.grads) expect(rms(own.grads.get(name)!, g)).toBeLessThanOrEqual(1e-6 * rms(g) + 1e-12);
        } finally {
          model.dispose();
        }
      }
    } finally {
      addon.setSharedPool(shared);
    }
  });
  it('attention probabilities are normal numbers or exactly 0: no subnormal where the causal and padding masks cut', () => {
    // a masked score's eˣ must be 0, not the smallest normal float: divided by the row's sum it would be subnormal,
    // and every product reading it would run on the CPU's slow subnormal path
    const addon = activeNativeAddon()!;
    const index = descriptorFields(addon);
    const real = addon.gemmaLayer;
    const s = { nH: 2, nKV: 1, hd: 4, H: 8, I: 12, B: 3, T: 9, layers: 1 };
    const { model, vars } = makeModel(s, 'lora', 5);
    let checked = 0;
    let zeros = 0;
    addon.gemmaLayer = (heap, d, backward, quant) => {
      real(heap, d, backward, quant);
      if (backward) return;
      const p = new Float32Array(heap, d[index.get('p')!], s.B * s.nH * s.T * s.T);
      for (const v of p) {
        if (v !== 0 && Math.abs(v) < 1.1754943508222875e-38) expect.fail(`subnormal attention probability ${v}`);
        if (v === 0) zeros++;
      }
      checked += p.length;
    };
    try {
      lossAndGrads(model, vars, batch(s, 5), true);
    } finally {
      addon.gemmaLayer = real;
      model.dispose();
    }
    expect(checked).toBe(s.B * s.nH * s.T * s.T);
    // the causal mask alone zeroes T(T−1)/2 of each head's T² scores
    expect(zeros).toBeGreaterThanOrEqual((s.B * s.nH * s.T * (s.T - 1)) / 2);
  });
  it('takes over a plain layer, and leaves a layer with LoRA dropout while training to the reference ops', () => {
    const s: Shape = { nH: 2, nKV: 1, hd: 4, H: 8, I: 6, B: 1, T: 3, layers: 1 };
    const { model } = makeModel(s, 'lora', 1);
    const dropModel = createGemma(parseGemmaConfig({ ...model.config.raw }), { seed: 1 });
    prepareMethod(dropModel, 'lora', { r: 2, targetModules: ALL_LINEAR, loraDropout: 0.1 });
    try {
      const run = (m: GemmaForCausalLM) => m.model.withContext([[3, 4, 5]], {}, (ctx) => {
        const x = m.model.embed([[3, 4, 5]]);
        const y = fusedDecoderLayer(m.model.layers[0], x, ctx.rope, ctx.mask);
        const shape = y === null ? null : y.shape;
        tf.dispose([x, y ?? []]);
        return shape;
      });
      expect(run(model)).toEqual([1, 3, 8]);
      dropModel.train();
      expect(run(dropModel)).toBeNull();
      dropModel.eval(); // dropout is off outside training: the op applies again
      expect(run(dropModel)).toEqual([1, 3, 8]);
    } finally {
      model.dispose();
      dropModel.dispose();
    }
  });
  it('head loss: a bf16 table above one expansion chunk (1M values) with the logits kept gives what its float32 values give', () => {
    const [B, T, d, V] = [2, 3, 300, 4000];
    const rng = new Rng(17);
    const f32 = new Float32Array(rng.normalArray(V * d, 1));
    const bits = new Uint16Array(V * d);
    for (let i = 0; i < f32.length; i++) bits[i] = new Uint32Array(new Float32Array([f32[i]]).buffer)[0] >>> 16;
    const values = new Float32Array(new Uint32Array(Array.from(bits, (b) => b << 16)).buffer);
    const h = tf.tensor3d(rng.normalArray(B * T * d, 1), [B, T, d]);
    const targets = Int32Array.from({ length: B * T }, (_, i) => (i === 2 ? -1 : Math.floor(rng.next() * V)));
    const run = (table: Float32Array | Uint16Array) => {
      const op = (x: tf.Tensor) => nativeHeadLoss(x as tf.Tensor3D, table, V, targets, B * T - 1)!;
      return { loss: op(h).dataSync()[0], dh: tf.grad(op)(h).dataSync() as Float32Array };
    };
    const chunked = run(bits);
    const whole = run(values);
    expect(Math.abs(chunked.loss - whole.loss)).toBeLessThanOrEqual(1e-6 * Math.abs(whole.loss));
    expect(relRms(chunked.dh, whole.dh)).toBeLessThanOrEqual(1e-5);
    h.dispose();
  });
  it('head loss: float32 and bf16 tables, one chunk and many (property), against the chunked TF.js loss', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 6 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 2, max: 40 }), fc.boolean(), fc.integer({ min: 1, max: 50 }), (B, T, d, V, bf16, seed) => {
      const rng = new Rng(seed);
      const f32 = new Float32Array(rng.normalArray(V * d, 1));
      const bits = new Uint16Array(V * d);
      for (let i = 0; i < f32.length; i++) bits[i] = new Uint32Array(new Float32Array([f32[i]]).buffer)[0] >>> 16;
      const values = bf16 ? new Float32Array(new Uint32Array(Array.from(bits, (b) => b << 16)).buffer) : f32;
      const head = { numEmbeddings: V, embeddingDim: d, chunkRows: 7, variable: null, meta: false, rowsTensor: (s: number, e: number) => tf.tensor2d(values.slice(s * d, e * d), [e - s, d]) };
      const model = { lmHead: null, model: { embedTokens: head } } as unknown as GemmaForCausalLM;
      const labels = Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => (t === 1 && b > 0 ? -100 : Math.floor(rng.next() * V))));
      const h = tf.tensor3d(rng.normalArray(B * T * d, 1), [B, T, d]);
      const targets = new Int32Array(B * T).fill(-1);
      let count = 0;
      labels.forEach((row, b) => row.forEach((y, t) => {
        if (t > 0 && y >= 0) {
          targets[b * T + t - 1] = y;
          count++;
        }
      }));
      const refGrad = () => {
        setNativeKernels(false);
        try {
          const g = tf.grad((x: tf.Tensor) => headLoss(model, labels)(x as tf.Tensor3D));
          const loss = headLoss(model, labels)(h).dataSync()[0];
          return { loss, dh: g(h).dataSync() as Float32Array };
        } finally {
          setNativeKernels(true);
        }
      };
      const ref2 = refGrad();
      // maxLogits 2·B·T forces chunks of two vocabulary rows: the many-chunk path with recomputed logits
      for (const maxLogits of [undefined, 2 * B * T]) {
        const op = (x: tf.Tensor) => nativeHeadLoss(x as tf.Tensor3D, bf16 ? bits : f32, V, targets, count, { maxLogits })!;
        const loss = op(h).dataSync()[0];
        const dh = tf.grad(op)(h).dataSync() as Float32Array;
        expect(Math.abs(loss - ref2.loss)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(ref2.loss)));
        expect(relRms(dh, ref2.dh)).toBeLessThanOrEqual(1e-4);
      }
      h.dispose();
    }), { numRuns: 25, seed: 8 });
  });
});
