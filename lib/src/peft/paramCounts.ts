/**
 * Parameter counts by formula over the linear layers' shapes, with no TF.js (`loralab/memory` imports these; the
 * module-tree count that must agree with them is params.ts):
 *
 *   LoRA on a d×k matrix:      r·(d + k)      (3×3 at r = 1: 6 instead of 9)
 *   bottleneck adapter:        2·h·m + m + h  per adapter, two per layer
 *   prefix tuning:             layers · 2 · P · (kv heads · head dim)
 */
import { numel } from '../numerics/dtype.js';
import { bottleneckAdapterParameters, prefixParameters } from '../layers/counts.js';
import { parseGemmaConfig, GEMMA_2B_CONFIG_JSON, gemmaWeightShapes, type GemmaConfig } from '../models/gemma/config.js';
import { loraConfig, type LoraConfig } from './config.js';
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
 * A model's shapes for the analytic counts: Gemma's config, and the kind of MLP. Gemma and LLaMA gate theirs
 * (gate_proj, up_proj, down_proj: 3·h·I weights); GPT-2/3 have the plain two-matrix MLP of the Transformer, here named
 * up_proj [I, h] and down_proj [h, I] (2·h·I weights, I = 4h). The module trees LoRA Lab builds are Gemma's, gated.
 */
export interface ShapeConfig extends GemmaConfig {
  mlp?: 'gated' | 'plain';
}

/**
 * Model shapes the commands know by name. Llama shapes use Gemma's module names (the same projections). GPT-3 175B
 * (Brown et al. 2020, Table 2.1: 96 layers, d_model 12288, 96 heads of 128, d_ff = 4·d_model) has a plain MLP, listed
 * in PLAIN_MLP_SHAPES: with LoRA r = 8 on every linear layer that is 96 · 8 · (4·2h + 2·5h) = 169.9M parameters, where
 * a gated MLP of the same size would give 179.3M. Its biases and learned positions (about 0.03 % of it) are left out.
 */
export const NAMED_SHAPES: Record<string, Record<string, unknown>> = {
  'gemma-2b': GEMMA_2B_CONFIG_JSON,
  'llama-7b': LLAMA_7B_CONFIG_JSON,
  'llama-13b': llama(5120, 13824, 40, 40, 40),
  'llama-65b': llama(8192, 22016, 80, 64, 64),
  'llama-70b': { ...llama(8192, 28672, 80, 64, 8), vocab_size: 32000 },
  'gpt3-175b': { model_type: 'gemma', vocab_size: 50257, hidden_size: 12288, intermediate_size: 4 * 12288, num_hidden_layers: 96, num_attention_heads: 96, num_key_value_heads: 96, head_dim: 128, tie_word_embeddings: true, torch_dtype: 'float16' },
};

/** Named shapes whose MLP is the plain two-matrix one (no gate_proj). */
const PLAIN_MLP_SHAPES = new Set(['gpt3-175b']);

/** The weights of a model by name and shape: Gemma's, without gate_proj when the MLP is plain. */
export function modelWeightShapes(cfg: ShapeConfig): Map<string, number[]> {
  const m = gemmaWeightShapes(cfg);
  if (cfg.mlp === 'plain') for (const k of [...m.keys()]) if (k.endsWith('.mlp.gate_proj.weight')) m.delete(k);
  return m;
}

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
export function linearShapes(cfg: ShapeConfig): Map<string, [number, number]> {
  const m = new Map<string, [number, number]>();
  for (const [name, shape] of modelWeightShapes(cfg)) {
    if (shape.length === 2 && name.endsWith('_proj.weight')) m.set(name.slice(0, -'.weight'.length), [shape[0], shape[1]]);
  }
  return m;
}

export function totalParameters(cfg: ShapeConfig): number {
  let t = 0;
  for (const s of modelWeightShapes(cfg).values()) t += numel(s);
  return t;
}

/** Trainable LoRA parameters by formula, with PEFT's target rules. */
export function loraParameterCount(cfg: ShapeConfig, lora: Partial<LoraConfig>): number {
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
export function methodTable(cfg: ShapeConfig, o: MethodTableOptions): MethodRow[] {
  const total = totalParameters(cfg);
  const m = o.bottleneck ?? o.r;
  const P = o.numVirtualTokens ?? o.r;
  const lora = loraParameterCount(cfg, { r: o.r, loraAlpha: o.r, targetModules: o.targetModules });
  const adapters = cfg.numHiddenLayers * 2 * bottleneckAdapterParameters(cfg.hiddenSize, m);
  const prefix = prefixParameters(cfg.numHiddenLayers, P, cfg.numKeyValueHeads * cfg.headDim);
  return [
    row('full', 'every weight', total, total),
    row('lora', `r=${o.r}, targets ${Array.isArray(o.targetModules) ? o.targetModules.join(',') : o.targetModules}`, total + lora, lora),
    row('adapter', `bottleneck ${m}, after attention and MLP`, total + adapters, adapters),
    row('prefix', `${P} virtual tokens per layer`, total + prefix, prefix),
  ];
}

export function namedConfig(name: string): ShapeConfig | null {
  const j = NAMED_SHAPES[name];
  if (!j) return null;
  return { ...parseGemmaConfig(j, name), mlp: PLAIN_MLP_SHAPES.has(name) ? 'plain' : 'gated' };
}
