import { describe, expect, it } from 'vitest';
import { readFileSync, mkdtempSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { SafetensorsReader, writeSafetensors } from 'loralab/io';
import { quantizeFile } from 'loralab/quant';
import { join } from 'node:path';
import { loadGemma, parseGemmaConfig, gemmaWeightShapes, GEMMA_2B_CONFIG_JSON, invFreq } from 'loralab/models/gemma';
import { countParameters, Linear, Linear4bit } from 'loralab/layers';
import { initBackend } from 'loralab/backend';
import { readWeights, referenceLogits, type RefConfig } from '../helpers/gemmaReference.js';
import { maxRelErr, relRms } from '../helpers/metrics.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'gemma-tiny');
const cfgJson = JSON.parse(readFileSync(join(DIR, 'config.json'), 'utf8')) as RefConfig;

describe('Gemma config', () => {
  it("parses Gemma-2B's config with tanh GELU whatever hidden_act says, and counts its 2,506,172,416 parameters", () => {
    const c = parseGemmaConfig(GEMMA_2B_CONFIG_JSON);
    expect(c).toMatchObject({ hiddenSize: 2048, numKeyValueHeads: 1, headDim: 256, tieWordEmbeddings: true, hiddenActInFile: 'gelu' });
    let total = 0;
    for (const s of gemmaWeightShapes(c).values()) total += s.reduce((a, b) => a * b, 1);
    expect(total).toBe(2_506_172_416);
    expect(gemmaWeightShapes(c).size).toBe(164);
  });
  it('names the file and the field when something is missing or wrong', () => {
    expect(() => parseGemmaConfig({ ...GEMMA_2B_CONFIG_JSON, hidden_size: undefined }, 'x/config.json')).toThrow(/x\/config\.json: missing field 'hidden_size'/);
    expect(() => parseGemmaConfig({ ...GEMMA_2B_CONFIG_JSON, num_attention_heads: '8' }, 'c.json')).toThrow(/field 'num_attention_heads' must be a positive integer, got "8"/);
    expect(() => parseGemmaConfig({ ...GEMMA_2B_CONFIG_JSON, model_type: 'llama' }, 'c.json')).toThrow(/model_type is "llama"/);
    expect(() => parseGemmaConfig({ ...GEMMA_2B_CONFIG_JSON, num_key_value_heads: 3 }, 'c.json')).toThrow(/multiple of num_key_value_heads/);
    expect(() => parseGemmaConfig([], 'c.json')).toThrow(/expected a JSON object/);
  });
  it('rotary inverse frequencies start at 1 and fall geometrically', () => {
    const f = invFreq(256, 10000);
    expect(f[0]).toBe(1);
    expect(f[1]).toBeCloseTo(10000 ** (-2 / 256), 6);
  });
});

describe('GemmaForCausalLM on the committed tiny fixture', () => {
  it('gives the logits of an independent reference implementation (float64, from the transformers source)', async () => {
    await initBackend({ log: false });
    const { model, tokenizer, unused } = loadGemma(DIR);
    expect(unused).toEqual([]);
    const ids = tokenizer!.encode('SELECT name FROM customers;');
    expect(ids[0]).toBe(2);
    const got = model.logits(ids);
    const want = referenceLogits(cfgJson, readWeights(join(DIR, 'model.safetensors')), ids);
    expect(got.length).toBe(ids.length * cfgJson.vocab_size);
    expect(maxRelErr(got, want.flat())).toBeLessThan(2e-4);
  });
  it('module names are transformers names', () => {
    const { model } = loadGemma(DIR, { tokenizer: false });
    const names = [...model.namedModules()].map(([n]) => n);
    expect(names).toContain('model.layers.0.self_attn.q_proj');
    expect(names).toContain('model.layers.1.mlp.down_proj');
    expect(names).toContain('model.embed_tokens');
    const params = [...model.namedParameters()].map((p) => p.name);
    expect(params).toContain('model.layers.0.post_attention_layernorm.weight');
    expect(countParameters(model).total).toBe([...gemmaWeightShapes(parseGemmaConfig(cfgJson)).values()].reduce((s, sh) => s + sh.reduce((a, b) => a * b, 1), 0));
    expect(countParameters(model).trainable).toBe(0);
  });
  it('loadIn4bit quantizes every linear layer (not the embedding) and stays close to the bf16 model', async () => {
    await initBackend({ log: false });
    const dense = loadGemma(DIR, { tokenizer: false }).model;
    const q = loadGemma(DIR, { loadIn4bit: true, bnb4bitQuantType: 'nf4', bnb4bitUseDoubleQuant: true, bnb4bitComputeDtype: 'bfloat16', tokenizer: false }).model;
    const kinds = [...q.namedModules()].filter(([n]) => /_proj$/.test(n)).map(([, m]) => m.constructor.name);
    expect(new Set(kinds)).toEqual(new Set(['Linear4bit']));
    expect(kinds).toHaveLength(14);
    const ids = [2, 10, 200, 300, 5];
    const err = relRms(dense.logits(ids), q.logits(ids));
    expect(err).toBeGreaterThan(0);
    expect(err).toBeLessThan(0.25);
  });
  it('loadIn4bit streams each weight from the file: the same 4-bit state as quantizing the loaded dense weight', async () => {
    await initBackend({ log: false });
    const dense = loadGemma(DIR, { tokenizer: false }).model;
    const q = loadGemma(DIR, { loadIn4bit: true, bnb4bitQuantType: 'nf4', bnb4bitUseDoubleQuant: true, bnb4bitComputeDtype: 'bfloat16', tokenizer: false }).model;
    const denseMods = new Map(dense.namedModules());
    let compared = 0;
    for (const [name, m] of q.namedModules()) {
      if (!(m instanceof Linear4bit)) continue;
      const d = denseMods.get(name) as Linear;
      const want = Linear4bit.fromWeight(d.denseWeight(), d.outFeatures, d.inFeatures, { quantType: 'nf4', doubleQuant: true, computeDtype: 'bfloat16' }).state;
      expect(Buffer.from(m.state.packed).equals(Buffer.from(want.packed)), name).toBe(true);
      expect(Buffer.from(m.state.doubleQuant!.qabsmax).equals(Buffer.from(want.doubleQuant!.qabsmax)), name).toBe(true);
      compared++;
    }
    expect(compared).toBe(14);
  });
  it('reads a range of elements of a tensor without the rest (and refuses one outside it)', () => {
    const r = SafetensorsReader.open(join(DIR, 'model.safetensors'));
    try {
      const name = 'model.layers.0.mlp.up_proj.weight';
      const all = r.read(name);
      const bytes = all.data.byteLength / all.shape.reduce((a, b) => a * b, 1);
      const part = r.readElements(name, 37, 101);
      expect(part.shape).toEqual([64]);
      expect(Buffer.from(part.data).equals(Buffer.from(all.data.subarray(37 * bytes, 101 * bytes)))).toBe(true);
      expect(() => r.readElements(name, 0, 10 ** 9)).toThrow(/outside tensor 'model.layers.0.mlp.up_proj.weight'/);
    } finally {
      r.close();
    }
  });
});

describe('checkpoint layouts', () => {
  const tmp = () => mkdtempSync(join(tmpdir(), 'loralab-gemma-'));
  it('a sharded folder (model.safetensors.index.json) loads to the same model', () => {
    const dir = tmp();
    const r = SafetensorsReader.open(join(DIR, 'model.safetensors'));
    const names = r.names();
    const halves = [names.slice(0, 10), names.slice(10)];
    const weightMap: Record<string, string> = {};
    halves.forEach((ns, k) => {
      const file = `model-0000${k + 1}-of-00002.safetensors`;
      writeSafetensors(join(dir, file), Object.fromEntries(ns.map((n) => [n, r.read(n)])), { format: 'pt' });
      for (const n of ns) weightMap[n] = file;
    });
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    copyFileSync(join(DIR, 'config.json'), join(dir, 'config.json'));
    const ids = [2, 3, 4];
    expect(Array.from(loadGemma(dir).model.logits(ids))).toEqual(Array.from(loadGemma(DIR).model.logits(ids)));
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { ...weightMap, extra: 'model-00003-of-00002.safetensors' } }));
    expect(() => loadGemma(dir)).toThrow(/shard 'model-00003-of-00002\.safetensors' is listed but .* does not exist/);
  });
  it('a checkpoint already quantized by `loralab quantize` loads its 4-bit layers as stored (same as loadIn4bit)', () => {
    const dir = tmp();
    quantizeFile(join(DIR, 'model.safetensors'), join(dir, 'model.safetensors'), { quantType: 'nf4', doubleQuant: true, computeDtype: 'bfloat16', skip: [/embed_tokens/, /norm/] });
    copyFileSync(join(DIR, 'config.json'), join(dir, 'config.json'));
    const pre = loadGemma(dir);
    expect(pre.unused).toEqual([]);
    const kinds = [...pre.model.namedModules()].filter(([n]) => /_proj$/.test(n)).map(([, m]) => m.constructor.name);
    expect(new Set(kinds)).toEqual(new Set(['Linear4bit']));
    const onLoad = loadGemma(DIR, { loadIn4bit: true, bnb4bitQuantType: 'nf4', bnb4bitUseDoubleQuant: true, bnb4bitComputeDtype: 'bfloat16' });
    const ids = [2, 9, 8, 7];
    expect(Array.from(pre.model.logits(ids))).toEqual(Array.from(onLoad.model.logits(ids)));
  });
  it('clear errors: missing tensor, wrong shape, no weights', () => {
    const dir = tmp();
    copyFileSync(join(DIR, 'config.json'), join(dir, 'config.json'));
    expect(() => loadGemma(dir)).toThrow(/no model\.safetensors or model\.safetensors\.index\.json/);
    const r = SafetensorsReader.open(join(DIR, 'model.safetensors'));
    const t = Object.fromEntries(r.names().filter((n) => !n.includes('layers.1.mlp.up_proj')).map((n) => [n, r.read(n)]));
    writeSafetensors(join(dir, 'model.safetensors'), t);
    expect(() => loadGemma(dir)).toThrow(/missing tensor 'model\.layers\.1\.mlp\.up_proj\.weight' \(expected shape \[128, 64\]/);
    const cfg = JSON.parse(readFileSync(join(DIR, 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, intermediate_size: 96 }));
    expect(() => loadGemma(dir)).toThrow(/has shape \[128, 64\], config\.json implies \[96, 64\]/);
  });
});

describe('config.json: every field LoRA Lab reads is validated, with its type and range', () => {
  const bad = (over: Record<string, unknown>, message: RegExp) => expect(() => parseGemmaConfig({ ...GEMMA_2B_CONFIG_JSON, ...over }, 'm/config.json')).toThrow(message);
  it('rms_norm_eps and rope_theta must be positive (they gave all-NaN logits)', () => {
    bad({ rms_norm_eps: -1 }, /m\/config\.json: field 'rms_norm_eps' must be a number > 0 and < 1, got -1/);
    bad({ rms_norm_eps: 0 }, /rms_norm_eps/);
    bad({ rope_theta: 0 }, /m\/config\.json: field 'rope_theta' must be a number > 0, got 0/);
    bad({ rope_theta: 'big' }, /rope_theta/);
  });
  it('eos_token_id: an id or a non-empty list of ids within the vocabulary; other ids too', () => {
    bad({ eos_token_id: [] }, /field 'eos_token_id' must be a token id in \[0, 256000\) or a non-empty list of them, got \[\]/);
    bad({ eos_token_id: [1, 'x'] }, /eos_token_id/);
    bad({ bos_token_id: 256000 }, /field 'bos_token_id' must be a token id in \[0, 256000\)/);
    bad({ pad_token_id: -1 }, /pad_token_id/);
    expect(parseGemmaConfig({ ...GEMMA_2B_CONFIG_JSON, eos_token_id: [1, 107] }).eosTokenId).toBe(1);
  });
  it('booleans must be JSON booleans ("false" was read as true)', () => {
    bad({ tie_word_embeddings: 'false' }, /field 'tie_word_embeddings' must be true or false \(a JSON boolean\), got "false"/);
    bad({ attention_bias: 0 }, /attention_bias/);
    expect(parseGemmaConfig({ ...GEMMA_2B_CONFIG_JSON, tie_word_embeddings: false }).tieWordEmbeddings).toBe(false);
  });
  it('sizes are positive integers; torch_dtype is one of three', () => {
    bad({ num_hidden_layers: 0 }, /field 'num_hidden_layers' must be a positive integer, got 0/);
    bad({ max_position_embeddings: 1.5 }, /max_position_embeddings/);
    bad({ head_dim: 3 }, /head_dim must be even/);
    bad({ torch_dtype: 'float64' }, /field 'torch_dtype' must be "bfloat16", "float32" or "float16", got "float64"/);
  });
});

describe('loading: unused tensors, and sequences longer than the positions', () => {
  const tmp = () => mkdtempSync(join(tmpdir(), 'loralab-gemma-'));
  it('num_hidden_layers smaller than the checkpoint is an error naming the extra layer, unless allowUnusedTensors', async () => {
    await initBackend({ log: false });
    const dir = tmp();
    copyFileSync(join(DIR, 'model.safetensors'), join(dir, 'model.safetensors'));
    const cfg = JSON.parse(readFileSync(join(DIR, 'config.json'), 'utf8')) as Record<string, number>;
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, num_hidden_layers: cfg.num_hidden_layers - 1 }));
    const last = cfg.num_hidden_layers - 1;
    expect(() => loadGemma(dir, { tokenizer: false })).toThrow(new RegExp(`the checkpoint holds tensors the model does not use \\(model\\.layers\\.${last}\\..*: it has layer ${last} but .*config\\.json says num_hidden_layers ${last}; fix config\\.json, or pass allowUnusedTensors`));
    const loaded = loadGemma(dir, { tokenizer: false, allowUnusedTensors: true });
    expect(loaded.unused.length).toBeGreaterThan(0);
    expect(loaded.unused.every((n) => n.startsWith(`model.layers.${last}.`))).toBe(true);
  });
  it('more ids than max_position_embeddings are refused in a forward pass, naming config.json', async () => {
    await initBackend({ log: false });
    const dir = tmp();
    copyFileSync(join(DIR, 'model.safetensors'), join(dir, 'model.safetensors'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(DIR, 'config.json'), 'utf8')), max_position_embeddings: 4 }));
    const { model } = loadGemma(dir, { tokenizer: false });
    expect(model.logits([1, 2, 3, 4]).length).toBeGreaterThan(0);
    expect(() => model.logits([1, 2, 3, 4, 5])).toThrow(/config\.json: 5 positions exceed max_position_embeddings \(4\)/);
  });
  it('the loaded config remembers the folder it came from (for adapter_config.json)', () => {
    expect(loadGemma(DIR, { tokenizer: false }).config.nameOrPath).toBe(DIR);
  });
});
