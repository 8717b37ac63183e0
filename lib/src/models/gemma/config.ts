/**
 * Gemma's config.json (transformers `GemmaConfig`), checked field by field. Gemma-1 checkpoints say
 * `"hidden_act": "gelu"`, but Gemma runs tanh-approximate GELU (`gelu_pytorch_tanh`) — transformers PR #29402 — so the
 * activation is tanh-GELU whatever the file says, and `hiddenActInFile` keeps what it said.
 */
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
}

export class ConfigError extends Error {
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

export function parseGemmaConfig(json: unknown, file = 'config.json'): GemmaConfig {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new ConfigError(`${file}: expected a JSON object`);
  const c = json as Record<string, unknown>;
  const int = (k: string, def?: number): number => {
    const v = c[k] ?? def;
    if (v === undefined) throw new ConfigError(`${file}: missing field '${k}' (a positive integer)`);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new ConfigError(`${file}: field '${k}' must be a non-negative integer, got ${JSON.stringify(v)}`);
    return v;
  };
  const num = (k: string, def?: number): number => {
    const v = c[k] ?? def;
    if (v === undefined) throw new ConfigError(`${file}: missing field '${k}' (a number)`);
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(`${file}: field '${k}' must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  const mt = c.model_type;
  if (mt !== undefined && mt !== 'gemma') throw new ConfigError(`${file}: model_type is ${JSON.stringify(mt)}; LoRA Lab's loader reads Gemma ("gemma") checkpoints`);
  const hiddenSize = int('hidden_size');
  const numAttentionHeads = int('num_attention_heads');
  const cfg: GemmaConfig = {
    vocabSize: int('vocab_size'),
    hiddenSize,
    intermediateSize: int('intermediate_size'),
    numHiddenLayers: int('num_hidden_layers'),
    numAttentionHeads,
    numKeyValueHeads: int('num_key_value_heads', numAttentionHeads),
    headDim: int('head_dim', Math.floor(hiddenSize / Math.max(1, numAttentionHeads))),
    rmsNormEps: num('rms_norm_eps', 1e-6),
    ropeTheta: num('rope_theta', 10000),
    maxPositionEmbeddings: int('max_position_embeddings', 8192),
    bosTokenId: int('bos_token_id', 2),
    eosTokenId: Array.isArray(c.eos_token_id) ? Number(c.eos_token_id[0]) : int('eos_token_id', 1),
    padTokenId: int('pad_token_id', 0),
    tieWordEmbeddings: c.tie_word_embeddings === undefined ? true : Boolean(c.tie_word_embeddings),
    attentionBias: Boolean(c.attention_bias ?? false),
    torchDtype: (['bfloat16', 'float32', 'float16'].includes(String(c.torch_dtype)) ? c.torch_dtype : 'float32') as GemmaConfig['torchDtype'],
    hiddenActInFile: String(c.hidden_activation ?? c.hidden_act ?? 'gelu_pytorch_tanh'),
    raw: { ...c },
  };
  for (const k of ['vocabSize', 'hiddenSize', 'intermediateSize', 'numHiddenLayers', 'numAttentionHeads', 'numKeyValueHeads', 'headDim'] as const) {
    if (cfg[k] <= 0) throw new ConfigError(`${file}: ${k} must be positive, got ${cfg[k]}`);
  }
  if (cfg.numAttentionHeads % cfg.numKeyValueHeads !== 0) {
    throw new ConfigError(`${file}: num_attention_heads (${cfg.numAttentionHeads}) must be a multiple of num_key_value_heads (${cfg.numKeyValueHeads})`);
  }
  if (cfg.headDim % 2 !== 0) throw new ConfigError(`${file}: head_dim must be even for rotary embeddings, got ${cfg.headDim}`);
  return cfg;
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
