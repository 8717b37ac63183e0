/**
 * Parameter counts that answer the brief's questions, two ways that must agree: by formula over the linear layers'
 * shapes, and by building the real module tree (shape-only "meta" layers, so a 7B model costs no memory), injecting the
 * method and counting its parameters.
 *
 *   LoRA on a d×k matrix:      r·(d + k)      (3×3 at r = 1: 6 instead of 9)
 *   bottleneck adapter:        2·h·m + m + h  per adapter, two per layer
 *   prefix tuning:             layers · 2 · P · (kv heads · head dim)
 */
import { countParameters, type ParameterCount } from '../layers/module.js';
import { BottleneckAdapter, PrefixKV } from '../layers/adapters.js';
import { parseGemmaConfig, GEMMA_2B_CONFIG_JSON, gemmaWeightShapes, type GemmaConfig } from '../models/gemma/config.js';
import { createGemma } from '../models/gemma/load.js';
import { loraConfig, type LoraConfig } from './config.js';
import { getPeftModel } from './model.js';
import { addBottleneckAdapters, addPrefixTuning } from './methods.js';
import { checkTargetModules, isTarget, rankAndAlpha } from './targets.js';

/** LLaMA-7B's shapes in Gemma's module naming (same q/k/v/o and gate/up/down projections; untied head, MHA). */
export const LLAMA_7B_CONFIG_JSON: Record<string, unknown> = {
  model_type: 'gemma',
  vocab_size: 32000,
  hidden_size: 4096,
  intermediate_size: 11008,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  num_key_value_heads: 32,
  head_dim: 128,
  tie_word_embeddings: false,
  torch_dtype: 'float16',
};

const llama = (hidden: number, inter: number, layers: number, heads: number, kv: number): Record<string, unknown> => ({
  ...LLAMA_7B_CONFIG_JSON, hidden_size: hidden, intermediate_size: inter, num_hidden_layers: layers, num_attention_heads: heads, num_key_value_heads: kv, head_dim: hidden / heads,
});

/**
 * Model shapes the commands know by name. Llama shapes use Gemma's module names (the same projections); GPT-3's
 * two-matrix MLP (4h wide) is written as a gated MLP with the same parameter count (3·h·I = 8h², I = 8h/3).
 */
export const NAMED_SHAPES: Record<string, Record<string, unknown>> = {
  'gemma-2b': GEMMA_2B_CONFIG_JSON,
  'llama-7b': LLAMA_7B_CONFIG_JSON,
  'llama-13b': llama(5120, 13824, 40, 40, 40),
  'llama-65b': llama(8192, 22016, 80, 64, 64),
  'llama-70b': { ...llama(8192, 28672, 80, 64, 8), vocab_size: 32000 },
  'gpt3-175b': { model_type: 'gemma', vocab_size: 50257, hidden_size: 12288, intermediate_size: 32768, num_hidden_layers: 96, num_attention_heads: 96, num_key_value_heads: 96, head_dim: 128, tie_word_embeddings: true, torch_dtype: 'float16' },
};

/** LoRA parameters for one d_out × d_in matrix. */
export function loraParamsForMatrix(dOut: number, dIn: number, r: number): number {
  return r * (dOut + dIn);
}

export interface MethodRow {
  method: 'full' | 'lora' | 'adapter' | 'prefix';
  detail: string;
  total: number;
  trainable: number;
  percent: number;
}

function row(method: MethodRow['method'], detail: string, total: number, trainable: number): MethodRow {
  return { method, detail, total, trainable, percent: (100 * trainable) / total };
}

/** Linear layers of a Gemma-shaped model: name -> [out, in]. */
export function linearShapes(cfg: GemmaConfig): Map<string, [number, number]> {
  const m = new Map<string, [number, number]>();
  for (const [name, shape] of gemmaWeightShapes(cfg)) {
    if (shape.length === 2 && name.endsWith('_proj.weight')) m.set(name.slice(0, -'.weight'.length), [shape[0], shape[1]]);
  }
  return m;
}

export function totalParameters(cfg: GemmaConfig): number {
  let t = 0;
  for (const s of gemmaWeightShapes(cfg).values()) t += s.reduce((a, b) => a * b, 1);
  return t;
}

/** Trainable LoRA parameters by formula, with PEFT's target rules. */
export function loraParameterCount(cfg: GemmaConfig, lora: Partial<LoraConfig>): number {
  const c = loraConfig(lora);
  const shapes = linearShapes(cfg);
  checkTargetModules([...shapes.keys()], c.targetModules);
  let n = 0;
  for (const [name, [out, inF]] of shapes) {
    if (!isTarget(name, c)) continue;
    n += loraParamsForMatrix(out, inF, rankAndAlpha(name, c).r);
  }
  return n;
}

export interface MethodTableOptions {
  r: number;
  targetModules: string[] | string;
  /** Adapter bottleneck width (default r). */
  bottleneck?: number;
  /** Prefix length (default r). */
  numVirtualTokens?: number;
}

/** The table of the `params` command, by formula. */
export function methodTable(cfg: GemmaConfig, o: MethodTableOptions): MethodRow[] {
  const total = totalParameters(cfg);
  const m = o.bottleneck ?? o.r;
  const P = o.numVirtualTokens ?? o.r;
  const lora = loraParameterCount(cfg, { r: o.r, loraAlpha: o.r, targetModules: o.targetModules });
  const adapters = cfg.numHiddenLayers * 2 * BottleneckAdapter.parameterCount(cfg.hiddenSize, m);
  const prefix = PrefixKV.parameterCount(cfg.numHiddenLayers, P, cfg.numKeyValueHeads * cfg.headDim);
  return [
    row('full', 'every weight', total, total),
    row('lora', `r=${o.r}, targets ${Array.isArray(o.targetModules) ? o.targetModules.join(',') : o.targetModules}`, total + lora, lora),
    row('adapter', `bottleneck ${m}, after attention and MLP`, total + adapters, adapters),
    row('prefix', `${P} virtual tokens per layer`, total + prefix, prefix),
  ];
}

/** The same table by building the module trees (meta layers) and counting their parameters. */
export function methodTableByModules(cfg: GemmaConfig, o: MethodTableOptions): MethodRow[] {
  const fresh = () => createGemma(cfg, { meta: true });
  const full = fresh();
  full.setTrainable(true);
  const f = countParameters(full);
  const peft = getPeftModel(fresh(), { r: o.r, loraAlpha: o.r, targetModules: o.targetModules });
  const l = peft.parameterCount();
  const a = addBottleneckAdapters(fresh(), { bottleneck: o.bottleneck ?? o.r }).parameterCount();
  const p = addPrefixTuning(fresh(), { numVirtualTokens: o.numVirtualTokens ?? o.r }).parameterCount();
  const t = methodTable(cfg, o);
  const fromCount = (i: number, c: ParameterCount) => ({ ...t[i], total: c.total, trainable: c.trainable, percent: c.percent });
  return [fromCount(0, f), fromCount(1, l), fromCount(2, a), fromCount(3, p)];
}

export function namedConfig(name: string): GemmaConfig | null {
  const j = NAMED_SHAPES[name];
  return j ? parseGemmaConfig(j, name) : null;
}
