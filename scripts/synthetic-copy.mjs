// gemma-micro's configuration and synthetic repeated-span rows, shared by scripts/induction-check.mjs (copying as the
// only task) and scripts/pretrain-gemma-micro.mjs (--synthetic-share: copying mixed into the corpus).
import { Rng } from '../lib/dist/util/rng.js';

const IGNORE_INDEX = -100;

/** gemma-micro's config.json: Gemma's architecture, 4,065,536 parameters. */
export const GEMMA_MICRO_CONFIG = Object.freeze({
  architectures: ['GemmaForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 2, eos_token_id: 1,
  head_dim: 64, hidden_act: 'gelu_pytorch_tanh', hidden_size: 256, initializer_range: 0.02, intermediate_size: 768,
  max_position_embeddings: 512, model_type: 'gemma', num_attention_heads: 4, num_hidden_layers: 4, num_key_value_heads: 1,
  pad_token_id: 0, rms_norm_eps: 1e-6, rope_scaling: null, rope_theta: 10000.0, torch_dtype: 'float32', use_cache: true, vocab_size: 4096,
});

/** First id a random span draws from: 0..3 are <pad>, <eos>, <bos>, <unk>. */
export const FIRST_SPAN_ID = 4;

/**
 * `count` rows of exactly `seq` tokens, each segments <bos> x_1..x_L (x_1..x_L)×repeats packed back to back (the last
 * one cut at the row's end), x_i uniform over [FIRST_SPAN_ID, idLimit) (idLimit defaults to vocabSize; a smaller set of
 * ids is seen more often, so the heads form sooner) and L uniform in [minLen, maxLen].
 * labels: IGNORE_INDEX on <bos> and the first copy (random, unpredictable), the token itself on the repeats.
 * scored: the positions t whose token is a repeat's 2nd..Lth token (the first token of a repeat is not determined by
 * what precedes it), for measuring copy accuracy.
 */
export function repeatedSpanRows(count, seq, { vocabSize, idLimit = vocabSize, minLen, maxLen, repeats, bosId, seed }) {
  if (!(minLen >= 2 && maxLen >= minLen)) throw new Error(`repeatedSpanRows: expected 2 <= minLen <= maxLen, got ${minLen}..${maxLen}`);
  if (!(idLimit > FIRST_SPAN_ID + 1 && idLimit <= vocabSize)) throw new Error(`repeatedSpanRows: expected ${FIRST_SPAN_ID + 1} < idLimit <= ${vocabSize}, got ${idLimit}`);
  const rng = new Rng(seed);
  const rows = [];
  for (let n = 0; n < count; n++) {
    const inputIds = [];
    const labels = [];
    const scored = [];
    while (inputIds.length < seq) {
      const L = minLen + Math.floor(rng.next() * (maxLen - minLen + 1));
      const span = Array.from({ length: L }, () => FIRST_SPAN_ID + Math.floor(rng.next() * (idLimit - FIRST_SPAN_ID)));
      inputIds.push(bosId, ...span);
      labels.push(IGNORE_INDEX, ...span.map(() => IGNORE_INDEX));
      for (let r = 0; r < repeats; r++) {
        span.forEach((id, i) => {
          if (i > 0 && inputIds.length < seq) scored.push(inputIds.length);
          inputIds.push(id);
          labels.push(id);
        });
      }
    }
    rows.push({ inputIds: inputIds.slice(0, seq), labels: labels.slice(0, seq), scored });
  }
  return rows;
}
