// The seams the layers and models offer so that methods need not be known by them: Linear4bit.setWeight and
// snapshot (LoRA merges any base alike), Module.beforeStep (per-step reseeding), the Gemma hook points, one home per
// default (BNB_4BIT_DEFAULTS, LORA_DEFAULTS), stateBytes behind both byte counts.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from 'loralab/backend';
import { Linear, Linear4bit, LoraLinear, Module, ModuleList } from 'loralab/layers';
import { BNB_4BIT_DEFAULTS, QuantizationError, bitsPerParameter, bnb4bitOptions, dequantize4bit, quantize4bit, stateBytes } from 'loralab/quant';
import { FLOAT_DTYPES, castValues, numel, roundToBf16 } from 'loralab/quant';
import { createGemma, parseGemmaConfig } from 'loralab/models/gemma';
import { LORA_DEFAULTS, loraConfig } from 'loralab/peft';
import { recipeLoraAlpha } from 'loralab/train';
import { Rng } from '../../lib/src/util/rng.js';

beforeAll(async () => {
  await initBackend({ log: false });
});

const weight = (n: number, seed = 1) => new Rng(seed).normalArray(n, 0.5);

describe('one home per default', () => {
  it('4-bit options: NF4, blocksize 64, no double quant, bfloat16, filled in and the blocksize checked once', () => {
    expect(BNB_4BIT_DEFAULTS).toEqual({ quantType: 'nf4', blocksize: 64, doubleQuant: false, computeDtype: 'bfloat16' });
    expect(bnb4bitOptions({ blocksize: 128 })).toEqual({ ...BNB_4BIT_DEFAULTS, blocksize: 128 });
    expect(() => bnb4bitOptions({ blocksize: 100 })).toThrow(QuantizationError);
    expect(() => bnb4bitOptions({ blocksize: 100 })).toThrow(/blocksize must be one of 32, 64, .* \(got 100\)/);
    // a layer quantized with no options uses exactly these
    const l = Linear4bit.fromWeight(weight(64 * 8), 8, 64);
    expect([l.state.quantType, l.state.blocksize, l.state.doubleQuant, l.state.dtype]).toEqual(['nf4', 64, null, 'bfloat16']);
  });

  it("LoRA: PEFT's LoraConfig defaults (r 8, lora_alpha 8, dropout 0); the training recipe's alpha is 2r", () => {
    expect(LORA_DEFAULTS).toEqual({ r: 8, loraAlpha: 8, loraDropout: 0 });
    const c = loraConfig();
    expect([c.r, c.loraAlpha, c.loraDropout]).toEqual([8, 8, 0]);
    expect([recipeLoraAlpha(8), recipeLoraAlpha(16)]).toEqual([16, 32]);
  });

  it('one dtype list, numel and castValues in numerics', () => {
    expect([...FLOAT_DTYPES]).toEqual(['float32', 'bfloat16', 'float16']);
    expect([numel([]), numel([3, 4, 5]), numel([7, 0])]).toEqual([1, 60, 0]);
    const x = Float32Array.from([1 + 2 ** -10, 70000, 0.1]);
    expect([...castValues(x.slice(), 'bfloat16')]).toEqual([...roundToBf16(x)]);
    expect([...castValues(x.slice(), 'float16')]).toEqual([1 + 2 ** -10, Infinity, Math.fround(0.0999755859375)]);
    expect([...castValues(x.slice(), 'float32')]).toEqual([...x]);
  });

  it('stateBytes is both the layer storage and bits per parameter times n / 8', () => {
    for (const doubleQuant of [false, true]) {
      const { state } = quantize4bit(weight(256 * 64), { shape: [256, 64], doubleQuant });
      const b = stateBytes(state);
      expect(new Linear4bit(state).storageBytes()).toBe(b.total);
      expect(bitsPerParameter(state).totalWithCodebooks * numel(state.shape) / 8).toBeCloseTo(b.total, 6);
      expect(b.constants).toBe(doubleQuant ? 256 + 4 * 1 + 4 : 4 * 256);
    }
  });
});

describe('Linear4bit.setWeight and snapshot', () => {
  it('requantizes with the layer’s own options and restores its stored state exactly', () => {
    const l = Linear4bit.fromWeight(weight(128 * 4), 4, 128, { quantType: 'fp4', blocksize: 32, doubleQuant: true });
    const before = l.snapshot();
    const w2 = weight(128 * 4, 2);
    l.setWeight(w2);
    expect([l.state.quantType, l.state.blocksize, !!l.state.doubleQuant]).toEqual(['fp4', 32, true]);
    const expected = quantize4bit(roundToBf16(w2), { quantType: 'fp4', blocksize: 32, doubleQuant: true, shape: [4, 128], dtype: 'bfloat16' }).state;
    expect([...l.state.packed]).toEqual([...expected.packed]);
    before.restore();
    expect([...dequantize4bit(l.state, { dtype: 'float32' })]).toEqual([...before.values]);
  });

  it('LoRA merges and unmerges a dense and a 4-bit base through the same calls', () => {
    for (const base of [new Linear(16, 8, { weight: weight(128) }), Linear4bit.fromWeight(weight(128), 8, 16, { blocksize: 32 })]) {
      const lora = new LoraLinear(base, { r: 2, loraAlpha: 4, initLoraWeights: false, seed: 3 });
      const w0 = base.snapshot().values;
      const report = lora.merge();
      expect(report.requantizationError === undefined).toBe(base instanceof Linear);
      lora.unmerge();
      expect([...base.snapshot().values]).toEqual([...w0]);
      lora.dispose();
    }
  });
});

describe('Module.beforeStep', () => {
  it('reaches every module of the tree; LoRA reseeds its dropout counter from the step', () => {
    const seen: number[] = [];
    class Probe extends Module {
      override beforeStep(step: number): void {
        seen.push(step);
      }
    }
    const list = new ModuleList();
    const lora = list.add('lora', new LoraLinear(new Linear(4, 4, { weight: weight(16) }), { r: 1, loraAlpha: 1, loraDropout: 0.1 }));
    const inner = list.add('inner', new ModuleList());
    inner.add('probe', new Probe());
    for (const [, m] of list.namedModules()) m.beforeStep(5);
    expect(seen).toEqual([5]);
    expect(lora.dropoutCounter).toBe(5 * 10_007);
    list.dispose();
  });
});

describe('Gemma hook points', () => {
  const cfg = parseGemmaConfig({ model_type: 'gemma', vocab_size: 32, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 8 }, 'tiny');

  it('an output hook maps the sublayer output before the residual add, and is a named child', () => {
    const model = createGemma(cfg, { seed: 1 });
    const ids = [[1, 2, 3]];
    const plain = model.forward(ids).arraySync();
    class Zero extends Module {
      forward(x: tf.Tensor): tf.Tensor {
        return tf.zerosLike(x);
      }
    }
    model.model.layers[0].attachOutputHook('attn', 'zero_attn', new Zero());
    model.model.layers[0].attachOutputHook('mlp', 'zero_mlp', new Zero());
    // both sublayers silenced: the hidden state is the scaled embedding, normed
    const silenced = model.model.forward(ids);
    const expected = tf.tidy(() => model.model.norm.forward(model.model.embed(ids)));
    expect(Math.max(...(silenced.sub(expected).abs().dataSync() as Float32Array))).toBeLessThan(1e-6);
    expect(model.forward(ids).arraySync()).not.toEqual(plain);
    expect([...model.namedModules()].map(([n]) => n)).toContain('model.layers.0.zero_attn');
    tf.dispose([silenced, expected]);
    model.dispose();
  });

  it('a kv prefix adds P positions that every query attends to', () => {
    const model = createGemma(cfg, { seed: 1 });
    const attn = model.model.layers[0].selfAttn;
    expect(attn.prefixLength).toBe(0);
    const keys = tf.zeros([1, 1, 3, 8]) as tf.Tensor4D;
    attn.attachKvPrefix({ length: 3, keysValues: () => ({ keys: keys.clone(), values: keys.clone() }) });
    expect(attn.prefixLength).toBe(3);
    const logits = model.forward([[1, 2]]);
    expect(logits.shape).toEqual([1, 2, 32]);
    attn.attachKvPrefix(null);
    expect(attn.prefixLength).toBe(0);
    tf.dispose([logits, keys]);
    model.dispose();
  });
});
