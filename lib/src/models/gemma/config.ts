/**
 * Gemma's config.json (transformers `GemmaConfig`), checked field by field. Gemma-1 checkpoints say
 * `"hidden_act": "gelu"`, but Gemma runs tanh-approximate GELU (`gelu_pytorch_tanh`) — transformers PR #29402 — so the
 * activation is tanh-GELU whatever the file says, and `hiddenActInFile` keeps what it said.
 */
import { LoraLabError } from '../../util/errors.js';
export interface GemmaConfig {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  maxPositionEmbeddings: number;
  bosTokenId: number;
  eosTokenId: number;
  padTokenId: number;
  tieWordEmbeddings: boolean;
  attentionBias: boolean;
  /** `torch_dtype` of the checkpoint; decides how the embedding normaliser √hidden is rounded. */
  torchDtype: 'bfloat16' | 'float32' | 'float16';
  hiddenActInFile: string;
  /** The config.json object as read (kept to write a merged model back). */
  raw: Record<string, unknown>;
  /** The file it was read from, for messages. */
  configFile?: string;
  /**
   * What the model was loaded from, as given (transformers' `name_or_path`): the folder passed to loadGemma, or the
   * file's `_name_or_path`. PEFT writes it into adapter_config.json as `base_model_name_or_path`.
   */
  nameOrPath?: string | null;
}

export class ConfigError extends LoraLabError {
  override name = 'ConfigError';
}

/** Gemma-2B (google/gemma-2b) as published on the hub. */
export const GEMMA_2B_CONFIG_JSON: Record<string, unknown> = {
  architectures: ['GemmaForCausalLM'],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 2,
  eos_token_id: 1,
  head_dim: 256,
  hidden_act: 'gelu',
  hidden_size: 2048,
  initializer_range: 0.02,
  intermediate_size: 16384,
  max_position_embeddings: 8192,
  model_type: 'gemma',
  num_attention_heads: 8,
  num_hidden_layers: 18,
  num_key_value_heads: 1,
  pad_token_id: 0,
  rms_norm_eps: 1e-6,
  rope_scaling: null,
  rope_theta: 10000.0,
  torch_dtype: 'bfloat16',
  transformers_version: '4.38.0.dev0',
  use_cache: true,
  vocab_size: 256000,
};

/** Readers of config.json's fields, each checking its type and range and naming the file and field when it fails. */
function fieldReaders(c: Record<string, unknown>, file: string) {
  const fail = (k: string, expected: string, v: unknown): never => {
    throw new ConfigError(`field '${k}' must be ${expected}, got ${JSON.stringify(v) ?? String(v)}`, { file });
  };
  /** A field's value, or `def` when it is absent or null (transformers' defaults). */
  const get = (k: string, def?: unknown): unknown => {
    const v = c[k] ?? def;
    if (v === undefined) throw new ConfigError(`missing field '${k}'`, { file });
    return v;
  };
  const positiveInt = (k: string, def?: number): number => {
    const v = get(k, def);
    return typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : fail(k, 'a positive integer', v);
  };
  const positiveNumber = (k: string, def: number, below = Infinity): number => {
    const v = get(k, def);
    return typeof v === 'number' && Number.isFinite(v) && v > 0 && v < below ? v : fail(k, `a number > 0${below < Infinity ? ` and < ${below}` : ''}`, v);
  };
  const bool = (k: string, def: boolean): boolean => {
    const v = get(k, def);
    return typeof v === 'boolean' ? v : fail(k, 'true or false (a JSON boolean)', v);
  };
  return { get, fail, positiveInt, positiveNumber, bool };
}

/**
 * Validate every field LoRA Lab reads, with its type and range: a wrong value fails here, naming the file and the
 * field, instead of giving NaN logits later (`rms_norm_eps: -1`, `rope_theta: 0`) or being misread
 * (`tie_word_embeddings: "false"` is a string, not false). Fields LoRA Lab does not read are kept in `raw` untouched.
 */
export function parseGemmaConfig(json: unknown, file = 'config.json'): GemmaConfig {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new ConfigError('expected a JSON object', { file });
  const c = json as Record<string, unknown>;
  const { get, fail, positiveInt, positiveNumber, bool } = fieldReaders(c, file);
  const mt = c.model_type;
  if (mt !== undefined && mt !== 'gemma') throw new ConfigError(`model_type is ${JSON.stringify(mt)}; LoRA Lab's loader reads Gemma ("gemma") checkpoints`, { file });
  const vocabSize = positiveInt('vocab_size');
  const tokenId = (k: string, def: number): number => {
    const v = get(k, def);
    return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v < vocabSize ? v : fail(k, `a token id in [0, ${vocabSize}) (vocab_size ${vocabSize})`, v);
  };
  const hiddenSize = positiveInt('hidden_size');
  const numAttentionHeads = positiveInt('num_attention_heads');
  const eos = get('eos_token_id', 1);
  const eosIds = Array.isArray(eos) ? eos : [eos];
  if (eosIds.length === 0 || !eosIds.every((v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v < vocabSize)) {
    fail('eos_token_id', `a token id in [0, ${vocabSize}) or a non-empty list of them`, eos);
  }
  const torchDtype = get('torch_dtype', c.dtype ?? 'float32');
  if (torchDtype !== 'bfloat16' && torchDtype !== 'float32' && torchDtype !== 'float16') fail('torch_dtype', '"bfloat16", "float32" or "float16"', torchDtype);
  const act = get('hidden_activation', c.hidden_act ?? 'gelu_pytorch_tanh');
  if (typeof act !== 'string') fail('hidden_activation', 'a string', act);
  const cfg: GemmaConfig = {
    vocabSize,
    hiddenSize,
    intermediateSize: positiveInt('intermediate_size'),
    numHiddenLayers: positiveInt('num_hidden_layers'),
    numAttentionHeads,
    numKeyValueHeads: positiveInt('num_key_value_heads', numAttentionHeads),
    headDim: positiveInt('head_dim', Math.floor(hiddenSize / numAttentionHeads)),
    // inside the square root of RMSNorm: 1 or more would swamp the mean square of unit-scale activations
    rmsNormEps: positiveNumber('rms_norm_eps', 1e-6, 1),
    // the base of the rotary frequencies θ^(-2i/d): 0 or less gives Inf or NaN angles
    ropeTheta: positiveNumber('rope_theta', 10000),
    maxPositionEmbeddings: positiveInt('max_position_embeddings', 8192),
    bosTokenId: tokenId('bos_token_id', 2),
    eosTokenId: eosIds[0] as number,
    padTokenId: tokenId('pad_token_id', 0),
    tieWordEmbeddings: bool('tie_word_embeddings', true),
    attentionBias: bool('attention_bias', false),
    torchDtype: torchDtype as GemmaConfig['torchDtype'],
    hiddenActInFile: act as string,
    raw: { ...c },
    configFile: file,
    nameOrPath: typeof c._name_or_path === 'string' ? c._name_or_path : null,
  };
  if (cfg.numAttentionHeads % cfg.numKeyValueHeads !== 0) {
    throw new ConfigError(`num_attention_heads (${cfg.numAttentionHeads}) must be a multiple of num_key_value_heads (${cfg.numKeyValueHeads})`, { file });
  }
  if (cfg.headDim % 2 !== 0) throw new ConfigError(`head_dim must be even for rotary embeddings, got ${cfg.headDim}`, { file });
  return cfg;
}

/** Refuse a sequence longer than the model's positions (`max_position_embeddings`), naming the config file. */
export function checkSequenceLength(cfg: GemmaConfig, positions: number): void {
  if (positions > cfg.maxPositionEmbeddings) {
    throw new ConfigError(`${positions} positions exceed max_position_embeddings (${cfg.maxPositionEmbeddings}); shorten the input`, { file: cfg.configFile ?? 'config.json' });
  }
}

/** Every weight name and shape a GemmaForCausalLM checkpoint holds, in transformers' naming. */
export function gemmaWeightShapes(cfg: GemmaConfig): Map<string, number[]> {
  const h = cfg.hiddenSize;
  const q = cfg.numAttentionHeads * cfg.headDim;
  const kv = cfg.numKeyValueHeads * cfg.headDim;
  const m = new Map<string, number[]>();
  m.set('model.embed_tokens.weight', [cfg.vocabSize, h]);
  for (let i = 0; i < cfg.numHiddenLayers; i++) {
    const p = `model.layers.${i}`;
    m.set(`${p}.input_layernorm.weight`, [h]);
    m.set(`${p}.self_attn.q_proj.weight`, [q, h]);
    m.set(`${p}.self_attn.k_proj.weight`, [kv, h]);
    m.set(`${p}.self_attn.v_proj.weight`, [kv, h]);
    m.set(`${p}.self_attn.o_proj.weight`, [h, q]);
    if (cfg.attentionBias) {
      m.set(`${p}.self_attn.q_proj.bias`, [q]);
      m.set(`${p}.self_attn.k_proj.bias`, [kv]);
      m.set(`${p}.self_attn.v_proj.bias`, [kv]);
      m.set(`${p}.self_attn.o_proj.bias`, [h]);
    }
    m.set(`${p}.post_attention_layernorm.weight`, [h]);
    m.set(`${p}.mlp.gate_proj.weight`, [cfg.intermediateSize, h]);
    m.set(`${p}.mlp.up_proj.weight`, [cfg.intermediateSize, h]);
    m.set(`${p}.mlp.down_proj.weight`, [h, cfg.intermediateSize]);
  }
  m.set('model.norm.weight', [h]);
  if (!cfg.tieWordEmbeddings) m.set('lm_head.weight', [cfg.vocabSize, h]);
  return m;
}
