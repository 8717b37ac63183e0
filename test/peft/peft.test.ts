import { describe, expect, it, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from 'loralab/backend';
import { loadGemma, saveGemma, parseGemmaConfig, GEMMA_2B_CONFIG_JSON } from 'loralab/models/gemma';
import {
  getPeftModel, loadPeftAdapter, adapterConfigJson, loraConfig, parseAdapterConfig, isTarget, rankAndAlpha,
  methodTable, methodTableByModules, loraParameterCount, loraParamsForMatrix, namedConfig, addPrefixTuning, addBottleneckAdapters,
  checkTargetModules, targetedLeafNames, linearShapes, TargetModulesError, DEFAULT_TARGET_MODULES,
} from 'loralab/peft';
import { prepareMethod } from 'loralab/train';
import { predictMemory } from 'loralab/memory';
import { LoraLinear } from 'loralab/layers';
import { SafetensorsReader, serialize, pyJsonDumpsIndent } from 'loralab/io';
import { floatTensor } from 'loralab/quant';
import { Rng } from '../../lib/src/util/rng.js';
import { readWeights, referenceLogits, type RefConfig } from '../helpers/gemmaReference.js';
import { directionalCheck } from '../helpers/gradcheck.js';
import { maxRelErr } from '../helpers/metrics.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'gemma-tiny');
const cfgJson = JSON.parse(readFileSync(join(DIR, 'config.json'), 'utf8')) as RefConfig;
const tmp = () => mkdtempSync(join(tmpdir(), 'loralab-peft-'));

beforeAll(async () => {
  await initBackend({ log: false });
});

describe('target matching (PEFT rules)', () => {
  const cfg = (p: Partial<Parameters<typeof isTarget>[1]>) => ({ targetModules: null, excludeModules: null, layersToTransform: null, layersPattern: null, ...p });
  it('list: exact or suffix match; string: full regex match; all-linear: all but the output layer', () => {
    expect(isTarget('model.layers.0.self_attn.q_proj', cfg({ targetModules: ['q_proj'] }))).toBe(true);
    expect(isTarget('model.layers.0.self_attn.q_proj', cfg({ targetModules: ['self_attn.q_proj'] }))).toBe(true);
    expect(isTarget('model.layers.0.self_attn.q_proj', cfg({ targetModules: ['proj'] }))).toBe(false);
    expect(isTarget('model.layers.0.self_attn.q_proj', cfg({ targetModules: '.*\\.(q|v)_proj' }))).toBe(true);
    expect(isTarget('model.layers.0.self_attn.k_proj', cfg({ targetModules: '.*\\.(q|v)_proj' }))).toBe(false);
    expect(isTarget('model.layers.0.self_attn.q_proj', cfg({ targetModules: 'q_proj' }))).toBe(false); // fullmatch
    expect(isTarget('model.layers.3.mlp.up_proj', cfg({ targetModules: 'all-linear' }))).toBe(true);
    expect(isTarget('lm_head', cfg({ targetModules: 'all-linear' }), true)).toBe(false);
    expect(isTarget('model.layers.0.self_attn.v_proj', cfg({}))).toBe(true); // Gemma default: q_proj, v_proj
  });
  it('layers_to_transform and rank/alpha patterns', () => {
    expect(isTarget('model.layers.1.self_attn.q_proj', cfg({ targetModules: ['q_proj'], layersToTransform: [0] }))).toBe(false);
    expect(isTarget('model.layers.0.self_attn.q_proj', cfg({ targetModules: ['q_proj'], layersToTransform: 0 }))).toBe(true);
    const c = { r: 8, loraAlpha: 16, rankPattern: { 'model.layers.0.self_attn.q_proj': 2, v_proj: 4 }, alphaPattern: { q_proj: 3 } };
    expect(rankAndAlpha('model.layers.0.self_attn.q_proj', c)).toEqual({ r: 2, alpha: 3 });
    expect(rankAndAlpha('model.layers.5.self_attn.v_proj', c)).toEqual({ r: 4, alpha: 16 });
    expect(rankAndAlpha('model.layers.5.self_attn.k_proj', c)).toEqual({ r: 8, alpha: 16 });
  });
});

describe('getPeftModel on a real Gemma', () => {
  it('injects LoRA, freezes the rest and reports trainable parameters like PEFT', () => {
    const { model } = loadGemma(DIR, { tokenizer: false });
    const peft = getPeftModel(model, { r: 4, loraAlpha: 8, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'], taskType: 'CAUSAL_LM' });
    expect(peft.loraLayers.size).toBe(8);
    const c = peft.parameterCount();
    // q: 4*(64+64), k,v: 4*(64+16), o: 4*(64+64) per layer, 2 layers
    expect(c.trainable).toBe(2 * (4 * 128 + 2 * 4 * 80 + 4 * 128));
    expect(peft.trainableParametersLine()).toMatch(/^trainable params: 3,328 \|\| all params: [\d,]+ \|\| trainable%: \d+\.\d{4}$/);
    expect(peft.trainableVariables()).toHaveLength(16);
  });
});

describe('target modules that name nothing are refused, as PEFT refuses them', () => {
  const LAYERS = 'its linear layers are q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj. Please check the target modules and try again.';
  const fresh = () => loadGemma(DIR, { tokenizer: false }).model;
  it('getPeftModel names every missing module, guesses the one meant and lists the ones there are', () => {
    expect(() => getPeftModel(fresh(), { targetModules: ['q_proj', 'gate'] })).toThrow(`target module 'gate' not found in the base model (did you mean gate_proj?); ${LAYERS}`);
    expect(() => getPeftModel(fresh(), { targetModules: ['nope', 'query'] })).toThrow(`target modules 'nope', 'query' not found in the base model; ${LAYERS}`);
    expect(() => getPeftModel(fresh(), { targetModules: '.*\\.qkv' })).toThrow(`target modules pattern '.*\\.qkv' matches no module in the base model; ${LAYERS}`);
    expect(() => getPeftModel(fresh(), { targetModules: ['gate'] })).toThrow(TargetModulesError);
    // a name that exists but is filtered away by layers_to_transform is a different mistake
    expect(() => getPeftModel(fresh(), { targetModules: ['q_proj'], layersToTransform: [7] })).toThrow(/matched no linear layer of the model once exclude_modules null and layers_to_transform \[7\] were applied/);
  });
  it('loading an adapter whose config targets a module the model lacks fails the same way', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: 2, lora_alpha: 4, target_modules: ['q_proj', 'c_attn'] }));
    writeFileSync(join(dir, 'adapter_model.safetensors'), serialize({}, { format: 'pt' }));
    expect(() => loadPeftAdapter(fresh(), dir)).toThrow(/target module 'c_attn' not found in the base model/);
  });
  it('parameter counts by formula (params, memory) refuse them too', () => {
    const g2b = namedConfig('gemma-2b')!;
    expect(() => loraParameterCount(g2b, { targetModules: ['q_proj', 'gate'] })).toThrow(`target module 'gate' not found in the base model (did you mean gate_proj?); ${LAYERS}`);
    expect(() => methodTable(g2b, { r: 8, targetModules: ['v'] })).toThrow(/target module 'v' not found in the base model \(did you mean v_proj\?\)/);
    expect(() => checkTargetModules(['model.layers.0.self_attn.q_proj'], ['q_proj'])).not.toThrow();
    expect(() => checkTargetModules(['model.layers.0.self_attn.q_proj'], 'all-linear')).not.toThrow();
  });
});

describe('one default target modules: PEFT\'s for Gemma, q_proj and v_proj', () => {
  it('is what getPeftModel, prepareMethod, loraParameterCount and predictMemory use when given none', () => {
    expect(DEFAULT_TARGET_MODULES).toEqual(['q_proj', 'v_proj']);
    const peft = getPeftModel(loadGemma(DIR, { tokenizer: false }).model, { r: 2 });
    expect([...peft.loraLayers.keys()]).toEqual(['model.layers.0.self_attn.q_proj', 'model.layers.0.self_attn.v_proj', 'model.layers.1.self_attn.q_proj', 'model.layers.1.self_attn.v_proj']);
    const prepared = prepareMethod(loadGemma(DIR, { tokenizer: false }).model, 'lora', { r: 2 });
    expect([...prepared.peft!.loraLayers.keys()]).toEqual([...peft.loraLayers.keys()]);
    expect(prepared.peft!.config.targetModules).toEqual(['q_proj', 'v_proj']); // written to adapter_config.json
    const g2b = namedConfig('gemma-2b')!;
    expect(loraParameterCount(g2b, { r: 8 })).toBe(loraParameterCount(g2b, { r: 8, targetModules: ['q_proj', 'v_proj'] }));
    expect(loraParameterCount(g2b, { r: 8 })).toBe(18 * 8 * (2048 + 2048 + 2048 + 256));
    expect(predictMemory(g2b, { method: 'qlora', r: 8 }).parameters.adapters).toBe(921_600);
    expect(targetedLeafNames([...linearShapes(g2b).keys()], { targetModules: 'all-linear', excludeModules: null, layersToTransform: null, layersPattern: null })).toEqual(['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']);
  });
  it('with zero-init B the PEFT model gives exactly the base logits', () => {
    const ids = [2, 40, 41, 42];
    const base = loadGemma(DIR, { tokenizer: false }).model.logits(ids);
    const peft = getPeftModel(loadGemma(DIR, { tokenizer: false }).model, { r: 2, targetModules: 'all-linear' });
    expect(Array.from(peft.baseModel.logits(ids))).toEqual(Array.from(base));
  });
});

/** An adapter folder exactly as PEFT's save_pretrained writes one for this Gemma (config JSON and key names). */
function writePeftStyleAdapter(dir: string, r: number, alpha: number, targets: string[]): Map<string, { A: Float32Array; B: Float32Array; shapeA: number[]; shapeB: number[] }> {
  mkdirSync(dir, { recursive: true });
  const rng = new Rng(77);
  const dims: Record<string, [number, number]> = { q_proj: [64, 64], k_proj: [16, 64], v_proj: [16, 64], o_proj: [64, 64], gate_proj: [128, 64], up_proj: [128, 64], down_proj: [64, 128] };
  const tensors: Record<string, ReturnType<typeof floatTensor>> = {};
  const weights = new Map<string, { A: Float32Array; B: Float32Array; shapeA: number[]; shapeB: number[] }>();
  for (let L = 0; L < 2; L++) {
    for (const t of targets) {
      const [out, inF] = dims[t];
      const path = `model.layers.${L}.${t.endsWith('_proj') && ['gate_proj', 'up_proj', 'down_proj'].includes(t) ? 'mlp' : 'self_attn'}.${t}`;
      const A = rng.normalArray(r * inF, 0.1);
      const B = rng.normalArray(out * r, 0.1);
      tensors[`base_model.model.${path}.lora_A.weight`] = floatTensor(A, [r, inF]);
      tensors[`base_model.model.${path}.lora_B.weight`] = floatTensor(B, [out, r]);
      weights.set(path, { A, B, shapeA: [r, inF], shapeB: [out, r] });
    }
  }
  writeFileSync(join(dir, 'adapter_model.safetensors'), serialize(tensors, { format: 'pt' }));
  // the fields of a PEFT 0.x adapter_config.json (plus some a newer PEFT adds, which must be ignored)
  const config = {
    alpha_pattern: {}, auto_mapping: null, base_model_name_or_path: 'google/gemma-2b', bias: 'none', corda_config: null, eva_config: null,
    exclude_modules: null, fan_in_fan_out: false, inference_mode: true, init_lora_weights: true, layer_replication: null, layers_pattern: null,
    layers_to_transform: null, loftq_config: {}, lora_alpha: alpha, lora_bias: false, lora_dropout: 0.05, megatron_config: null,
    megatron_core: 'megatron.core', modules_to_save: null, peft_type: 'LORA', peft_version: '0.17.1', qalora_group_size: 16, r, rank_pattern: {},
    revision: null, target_modules: [...targets].reverse(), target_parameters: null, task_type: 'CAUSAL_LM', trainable_token_indices: null,
    use_dora: false, use_qalora: false, use_rslora: false,
  };
  writeFileSync(join(dir, 'adapter_config.json'), pyJsonDumpsIndent(config as never, { indent: 2, sortKeys: true }));
  return weights;
}

describe('PEFT adapter files', () => {
  it('adapter_config.json is written in PEFT layout: sorted keys, indent 2, inference_mode true', () => {
    const text = adapterConfigJson(loraConfig({ r: 8, loraAlpha: 16, loraDropout: 0.05, targetModules: ['q_proj', 'v_proj'], taskType: 'CAUSAL_LM' }));
    const j = JSON.parse(text);
    expect(Object.keys(j)).toEqual([...Object.keys(j)].sort());
    expect(j).toMatchObject({ peft_type: 'LORA', task_type: 'CAUSAL_LM', inference_mode: true, r: 8, lora_alpha: 16, lora_dropout: 0.05, target_modules: ['q_proj', 'v_proj'], bias: 'none' });
    expect(text).toContain('\n  "lora_dropout": 0.05,\n');
    expect(text).toContain('"target_modules": [\n    "q_proj",\n    "v_proj"\n  ],');
    expect(text).toContain('"alpha_pattern": {},');
    expect(text.endsWith('}')).toBe(true);
    expect(parseAdapterConfig(j)).toMatchObject({ r: 8, loraAlpha: 16, targetModules: ['q_proj', 'v_proj'], taskType: 'CAUSAL_LM' });
  });
  it('an adapter folder in PEFT format loads and gives the reference outputs (W + alpha/r * B A)', () => {
    const dir = join(tmp(), 'adapter');
    const w = writePeftStyleAdapter(dir, 4, 8, ['q_proj', 'v_proj', 'down_proj']);
    const peft = loadPeftAdapter(loadGemma(DIR, { tokenizer: false }).model, dir);
    expect(peft.loraLayers.size).toBe(6);
    expect(peft.config).toMatchObject({ r: 4, loraAlpha: 8, loraDropout: 0.05, taskType: 'CAUSAL_LM' });
    const ids = [2, 100, 101, 7, 9];
    const got = peft.baseModel.logits(ids);
    const lora = new Map([...w].map(([p, v]) => [p, { A: { data: Float64Array.from(v.A), rows: v.shapeA[0], cols: v.shapeA[1] }, B: { data: Float64Array.from(v.B), rows: v.shapeB[0], cols: v.shapeB[1] }, scaling: 2 }]));
    const want = referenceLogits(cfgJson, readWeights(join(DIR, 'model.safetensors')), ids, lora).flat();
    expect(maxRelErr(got, want)).toBeLessThan(3e-4);
    // and the effect is real: different from the base
    const base = loadGemma(DIR, { tokenizer: false }).model.logits(ids);
    expect(maxRelErr(base, want)).toBeGreaterThan(1e-3);
  });
  it('save -> load round trip: same keys, same weights, same outputs', () => {
    const peft = getPeftModel(loadGemma(DIR, { tokenizer: false }).model, { r: 3, loraAlpha: 6, targetModules: ['q_proj', 'o_proj'], taskType: 'CAUSAL_LM', seed: 1 });
    for (const l of peft.loraLayers.values()) l.loraB.assign(tf.randomNormal(l.loraB.shape, 0, 0.1, 'float32', 3));
    const dir = join(tmp(), 'saved');
    peft.saveAdapter(dir);
    const r = SafetensorsReader.open(join(dir, 'adapter_model.safetensors'));
    expect(r.metadata).toEqual({ format: 'pt' });
    expect(r.names()).toContain('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight');
    expect(r.info('base_model.model.model.layers.1.self_attn.o_proj.lora_B.weight')).toMatchObject({ dtype: 'F32', shape: [64, 3] });
    expect(r.names()).toHaveLength(8);
    r.close();
    const back = loadPeftAdapter(loadGemma(DIR, { tokenizer: false }).model, dir);
    const ids = [2, 5, 6, 7];
    expect(Array.from(back.baseModel.logits(ids))).toEqual(Array.from(peft.baseModel.logits(ids)));
  });
  it('clear errors: missing files, wrong peft_type, shape mismatch, untargeted weights', () => {
    const model = () => loadGemma(DIR, { tokenizer: false }).model;
    expect(() => loadPeftAdapter(model(), tmp())).toThrow(/no adapter_config\.json/);
    const d = join(tmp(), 'a');
    writePeftStyleAdapter(d, 4, 8, ['q_proj']);
    const cfg = JSON.parse(readFileSync(join(d, 'adapter_config.json'), 'utf8'));
    writeFileSync(join(d, 'adapter_config.json'), JSON.stringify({ ...cfg, peft_type: 'IA3' }));
    expect(() => loadPeftAdapter(model(), d)).toThrow(/peft_type is "IA3"/);
    writeFileSync(join(d, 'adapter_config.json'), JSON.stringify({ ...cfg, r: 2 }));
    expect(() => loadPeftAdapter(model(), d)).toThrow(/has shape \[4, 64\], expected \[2, 64\]/);
    writeFileSync(join(d, 'adapter_config.json'), JSON.stringify({ ...cfg, target_modules: ['q_proj'], layers_to_transform: [0] }));
    expect(() => loadPeftAdapter(model(), d)).toThrow(/modules the config does not target/);
  });
});

describe('merge, mergeAndUnload, save merged model', () => {
  it('merged model saved as a Hugging Face folder loads back with identical logits', () => {
    const dir = join(tmp(), 'adapter');
    writePeftStyleAdapter(dir, 4, 8, ['q_proj', 'k_proj', 'up_proj']);
    const peft = loadPeftAdapter(loadGemma(DIR, { tokenizer: false, dtype: 'float32' }).model, dir);
    const ids = [2, 30, 31, 32, 33];
    const withAdapter = peft.baseModel.logits(ids);
    const { model } = peft.mergeAndUnload({ safeMerge: true });
    expect([...model.namedModules()].some(([, m]) => m instanceof LoraLinear)).toBe(false);
    const merged = model.logits(ids);
    expect(maxRelErr(merged, withAdapter)).toBeLessThan(1e-5);
    const out = join(tmp(), 'merged');
    saveGemma(model, out, { dtype: 'float32', tokenizerFrom: DIR });
    expect(existsSync(join(out, 'tokenizer.json'))).toBe(true);
    const back = loadGemma(out);
    expect(back.unused).toEqual([]);
    expect(Array.from(back.model.logits(ids))).toEqual(Array.from(merged));
  });
});

describe('parameter counting (formula = real modules)', () => {
  it('a 3x3 matrix at r = 1 trains 6 parameters instead of 9', () => {
    expect(loraParamsForMatrix(3, 3, 1)).toBe(6);
  });
  it('Gemma-2B, r = 8 on q,k,v,o: 1,843,200 trainable of 2,506,172,416', () => {
    const cfg = parseGemmaConfig(GEMMA_2B_CONFIG_JSON);
    const o = { r: 8, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] };
    expect(loraParameterCount(cfg, { r: 8, targetModules: o.targetModules })).toBe(1_843_200);
    const byFormula = methodTable(cfg, o);
    const byModules = methodTableByModules(cfg, o);
    expect(byModules).toEqual(byFormula);
    expect(byFormula[0]).toMatchObject({ method: 'full', total: 2_506_172_416, trainable: 2_506_172_416 });
    expect(byFormula[1]).toMatchObject({ method: 'lora', trainable: 1_843_200, total: 2_506_172_416 + 1_843_200 });
  });
  it('a 7B Llama-shaped model at r = 1 and r = 4 (q,v and all-linear)', () => {
    const cfg = namedConfig('llama-7b')!;
    for (const [r, t, want] of [[1, ['q_proj', 'v_proj'], 524_288], [4, ['q_proj', 'v_proj'], 2_097_152], [1, 'all-linear', 2_498_560], [4, 'all-linear', 9_994_240]] as const) {
      const rows = methodTableByModules(cfg, { r, targetModules: t as string[] | string });
      expect(rows[1].trainable, `r=${r} ${String(t)}`).toBe(want);
      expect(rows).toEqual(methodTable(cfg, { r, targetModules: t as string[] | string }));
    }
    expect(methodTable(cfg, { r: 1, targetModules: ['q_proj'] })[0].total).toBe(6_738_415_616);
  });
});

describe('prefix tuning and adapters on Gemma', () => {
  it('prefix tuning: trainable key/value prefixes change the output and get correct gradients', () => {
    const { model } = loadGemma(DIR, { tokenizer: false });
    const m = addPrefixTuning(model, { numVirtualTokens: 3, seed: 4 });
    expect(m.parameterCount().trainable).toBe(2 * 2 * 3 * 16);
    const vars = m.trainableVariables();
    expect(vars).toHaveLength(4);
    const ids = [[2, 11, 12, 13]];
    const R = tf.tensor(new Rng(3).normalArray(4 * 384), [1, 4, 384]);
    const f = () => tf.sum(model.forward(ids).mul(R)) as tf.Scalar;
    const { grads } = tf.variableGrads(f, vars);
    for (const v of vars) {
      const c = directionalCheck(f, v, grads[v.name], { eps: 1e-2 });
      expect(c.relErr, v.name).toBeLessThan(3e-2);
    }
  });
  it('bottleneck adapters start as the identity: same logits as the base', () => {
    const ids = [2, 3, 4, 5];
    // the base through the same TF.js ops as the adapted model (a layer with hooks never runs as the fused native
    // op), so that "identity" can be checked bit for bit
    const fused = process.env.LORALAB_FUSED_LAYER;
    process.env.LORALAB_FUSED_LAYER = '0';
    let base: Float32Array;
    try {
      base = loadGemma(DIR, { tokenizer: false }).model.logits(ids);
    } finally {
      if (fused === undefined) delete process.env.LORALAB_FUSED_LAYER;
      else process.env.LORALAB_FUSED_LAYER = fused;
    }
    const m = addBottleneckAdapters(loadGemma(DIR, { tokenizer: false }).model, { bottleneck: 4 });
    expect(Array.from(m.model.logits(ids))).toEqual(Array.from(base));
    expect(m.parameterCount().trainable).toBe(2 * 2 * (2 * 64 * 4 + 4 + 64));
  });
});
