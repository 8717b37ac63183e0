// Inference cost of each method on the same Gemma-shaped model, side by side in one run: forward latency of the base,
// LoRA unmerged, LoRA merged (must cost nothing extra), bottleneck adapters and prefix tuning, with their extra FLOPs
// by formula.
import { createGemma, parseGemmaConfig } from '../lib/dist/models/gemma/index.js';
import { getPeftModel, addBottleneckAdapters, addPrefixTuning } from '../lib/dist/peft/index.js';
import { BottleneckAdapter, PrefixKV } from '../lib/dist/layers/index.js';
import { initBackend } from '../lib/dist/backend/index.js';
import { timeRoundRobin } from './timing.mjs';

const CONFIG = {
  model_type: 'gemma', vocab_size: 4096, hidden_size: 512, intermediate_size: 2048, num_hidden_layers: 4,
  num_attention_heads: 8, num_key_value_heads: 1, head_dim: 64, torch_dtype: 'float32',
};

/** Median forward latency per model, measured round-robin. */
function latencies(models, ids, rounds = 9) {
  return timeRoundRobin(Object.fromEntries(Object.entries(models).map(([k, m]) => [k, () => m.logits(ids)])), rounds);
}

export async function run({ seqLen = 128, r = 64 } = {}) {
  const backend = await initBackend({ log: false });
  const cfg = parseGemmaConfig(CONFIG);
  const ids = Array.from({ length: seqLen }, (_, i) => (i * 37) % cfg.vocabSize);
  const fresh = () => createGemma(cfg, { seed: 1 });
  const targets = ['q_proj', 'k_proj', 'v_proj', 'o_proj'];

  const merged = getPeftModel(fresh(), { r, loraAlpha: 2 * r, targetModules: targets });
  merged.mergeAdapters();
  const seconds = latencies({
    base: fresh(),
    loraUnmerged: getPeftModel(fresh(), { r, loraAlpha: 2 * r, targetModules: targets }).baseModel,
    loraMerged: merged.baseModel,
    adapters: addBottleneckAdapters(fresh(), { bottleneck: r }).model,
    prefix: addPrefixTuning(fresh(), { numVirtualTokens: r }).model,
  }, ids);
  const { base, loraUnmerged, loraMerged, adapters, prefix } = seconds;

  const h = cfg.hiddenSize;
  const q = cfg.numAttentionHeads * cfg.headDim;
  const kv = cfg.numKeyValueHeads * cfg.headDim;
  const loraFlopsPerToken = cfg.numHiddenLayers * 2 * r * ((h + q) + 2 * (h + kv) + (q + h));
  return {
    name: 'methods',
    what: `forward latency of one sequence of ${seqLen} tokens, Gemma-shaped model (hidden ${h}, ${cfg.numHiddenLayers} layers), r = bottleneck = prefix length = ${r}`,
    backend: backend.name,
    seconds,
    ratiosToBase: { loraUnmerged: loraUnmerged / base, loraMerged: loraMerged / base, adapters: adapters / base, prefix: prefix / base },
    extraFlopsPerToken: {
      loraUnmerged: loraFlopsPerToken,
      loraMerged: 0,
      adapters: cfg.numHiddenLayers * 2 * BottleneckAdapter.flopsPerToken(h, r),
      prefix: cfg.numHiddenLayers * PrefixKV.flopsPerTokenPerLayer(r, cfg.numAttentionHeads, cfg.headDim),
    },
  };
}
