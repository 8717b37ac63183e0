/**
 * The one place a Gemma's layer tree is put together, in transformers' order and names; `loadGemma` fills it from a
 * checkpoint's tensors and `createGemma` from fresh weights. Parts are asked for in the order a checkpoint lists them
 * (embedding; per layer q, k, v, o, gate, up, down, the two norms; final norm; untied head), so a loader streams in
 * file order and a seeded init draws the same numbers as before.
 */
import type { Embedding } from '../../layers/embedding.js';
import type { GemmaRMSNorm } from '../../layers/norm.js';
import type { GemmaConfig } from './config.js';
import { GemmaAttention, GemmaDecoderLayer, GemmaForCausalLM, GemmaMLP, GemmaModel, type AnyLinear } from './model.js';

export interface GemmaParts {
  /** 'model.embed_tokens.weight' or 'lm_head.weight'. */
  embedding(name: string): Embedding;
  /** A projection by module path, e.g. 'model.layers.0.self_attn.q_proj'. */
  linear(path: string): AnyLinear;
  /** A norm by module path, e.g. 'model.layers.0.input_layernorm' or 'model.norm'. */
  norm(path: string): GemmaRMSNorm;
}

export function assembleGemma(config: GemmaConfig, parts: GemmaParts): GemmaForCausalLM {
  const embed = parts.embedding('model.embed_tokens.weight');
  const layers = Array.from({ length: config.numHiddenLayers }, (_, i) => {
    const p = `model.layers.${i}`;
    const l = (name: string) => parts.linear(`${p}.${name}`);
    const attn = new GemmaAttention(config, l('self_attn.q_proj'), l('self_attn.k_proj'), l('self_attn.v_proj'), l('self_attn.o_proj'));
    const mlp = new GemmaMLP(l('mlp.gate_proj'), l('mlp.up_proj'), l('mlp.down_proj'));
    return new GemmaDecoderLayer(attn, mlp, parts.norm(`${p}.input_layernorm`), parts.norm(`${p}.post_attention_layernorm`));
  });
  const norm = parts.norm('model.norm');
  const lmHead = config.tieWordEmbeddings ? null : parts.embedding('lm_head.weight');
  return new GemmaForCausalLM(config, new GemmaModel(config, embed, layers, norm), lmHead);
}
