// gemma-micro's configuration and synthetic repeated-span rows, shared by scripts/induction-check.mjs (copying as the
// only task) and scripts/pretrain-gemma-micro.mjs (--synthetic-share: copying mixed into the corpus).
import { Rng } from '../lib/dist/util/rng.js';
import { drawer, shuffled } from './corpus-text.mjs';

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
 * Token-frequency weights for span ids: counts[id]^power over the ids at or above FIRST_SPAN_ID that occur in `rows`
 * (power 1: the corpus's own frequencies; 0: uniform over the ids it uses; 0.5 between, so that digits, which values
 * are made of, are drawn often without every span being all digits).
 */
export function corpusIdWeights(rows, vocabSize, power) {
  if (!(power >= 0 && power <= 1)) throw new Error(`corpusIdWeights: expected a power in [0, 1], got ${power}`);
  const counts = new Float64Array(vocabSize);
  for (const { inputIds } of rows) for (const id of inputIds) if (id >= FIRST_SPAN_ID && id < vocabSize) counts[id] += 1;
  return counts.map((c) => (c > 0 ? c ** power : 0));
}

/**
 * `count` rows of exactly `seq` tokens, each segments <bos> x_1..x_L (x_1..x_L)×repeats packed back to back (the last
 * one cut at the row's end), x_i uniform over [FIRST_SPAN_ID, idLimit) (idLimit defaults to vocabSize; a smaller set of
 * ids is seen more often, so the heads form sooner) or, for a share `weightedShare` of the spans, drawn ∝ idWeights
 * (see corpusIdWeights), and L uniform in [minLen, maxLen].
 * labels: IGNORE_INDEX on <bos> and the first copy (random, unpredictable), the token itself on the repeats.
 * scored: the positions t whose token is a repeat's 2nd..Lth token (the first token of a repeat is not determined by
 * what precedes it), for measuring copy accuracy.
 */
export function repeatedSpanRows(count, seq, { vocabSize, idLimit = vocabSize, minLen, maxLen, repeats, bosId, seed, idWeights, weightedShare = 0 }) {
  if (!(minLen >= 2 && maxLen >= minLen)) throw new Error(`repeatedSpanRows: expected 2 <= minLen <= maxLen, got ${minLen}..${maxLen}`);
  if (!(idLimit > FIRST_SPAN_ID + 1 && idLimit <= vocabSize)) throw new Error(`repeatedSpanRows: expected ${FIRST_SPAN_ID + 1} < idLimit <= ${vocabSize}, got ${idLimit}`);
  if (!(weightedShare >= 0 && weightedShare <= 1)) throw new Error(`repeatedSpanRows: expected weightedShare in [0, 1], got ${weightedShare}`);
  if (weightedShare > 0 && !(idWeights && idWeights.length === vocabSize)) throw new Error(`repeatedSpanRows: weightedShare ${weightedShare} needs idWeights of length ${vocabSize}`);
  const rng = new Rng(seed);
  const drawWeighted = weightedShare > 0 ? weightedIds(idWeights) : null;
  const rows = [];
  for (let n = 0; n < count; n++) {
    const inputIds = [];
    const labels = [];
    const scored = [];
    while (inputIds.length < seq) {
      const L = minLen + Math.floor(rng.next() * (maxLen - minLen + 1));
      // a share of the spans draws its ids by idWeights (e.g. the corpus's token frequencies), the rest uniformly
      const weighted = drawWeighted !== null && rng.next() < weightedShare;
      const span = Array.from({ length: L }, () => (weighted ? drawWeighted(rng) : FIRST_SPAN_ID + Math.floor(rng.next() * (idLimit - FIRST_SPAN_ID))));
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

/**
 * `count` rows of exactly `seq` tokens of associative recall (the multi-query associative recall task of Arora et al.
 * 2023, "Zoology"), written the way the corpus states facts: segments <bos> k_1 SEP v_1 END … k_n SEP v_n END, then
 * queries k_i SEP v_i END for the pairs in a random order, packed back to back (the last one cut at the row's end).
 * Keys (keyLen tokens, distinct within a segment) and values (valueLen tokens) are drawn by `draw` (e.g. the corpus's
 * token frequencies); `sep` and `end` are the tokens of " is" and "." (one token each, or more where the tokenizer
 * keeps spaces apart) so a query reads like "The status of order 1379 is" and its answer like " delivered.".
 * A share `templated` of the segments states and asks in a template of their own instead, as the corpus does
 * ("The X is sold in the V category." … "The category of the X is" V): each pair is stated as k F v T END and asked as
 * P k Q, answered v END, where F (1..fillerLen[1] tokens), T (0..1), P (0..prefixLen[1]) and Q (1..2) are drawn once
 * per segment, so the value must be found a template's length after its key.
 * labels: the query values and their END (copying is the only way to predict them), IGNORE_INDEX elsewhere.
 * The pairs a segment states, n, is uniform in [minPairs, maxPairs]; each query reads a stated pair, so the value is
 * never guessable from the key alone.
 */
export function recallRows(count, seq, { draw, keyLen, valueLen, minPairs, maxPairs, sep, end, bosId, seed, templated = 0, fillerLen = [1, 4], prefixLen = [0, 3] }) {
  if (!(minPairs >= 1 && maxPairs >= minPairs)) throw new Error(`recallRows: expected 1 <= minPairs <= maxPairs, got ${minPairs}..${maxPairs}`);
  for (const [name, [a, b], least] of [['keyLen', keyLen, 1], ['valueLen', valueLen, 1], ['fillerLen', fillerLen, 1], ['prefixLen', prefixLen, 0]]) {
    if (!(a >= least && b >= a)) throw new Error(`recallRows: expected ${name} [min, max] with ${least} <= min <= max, got ${JSON.stringify([a, b])}`);
  }
  if (!(templated >= 0 && templated <= 1)) throw new Error(`recallRows: expected templated in [0, 1], got ${templated}`);
  for (const [name, ids] of [['sep', sep], ['end', end]]) {
    if (!(Array.isArray(ids) && ids.length > 0 && ids.every(Number.isInteger))) throw new Error(`recallRows: expected ${name} as a non-empty array of token ids, got ${JSON.stringify(ids)}`);
  }
  const rng = new Rng(seed);
  const g = drawer(rng);
  const int = ([a, b]) => g.int(a, b);
  const tokens = (n) => Array.from({ length: n }, () => draw(rng));
  const rows = [];
  for (let c = 0; c < count; c++) {
    const inputIds = [];
    const labels = [];
    const put = (ids, labelled) => {
      inputIds.push(...ids);
      labels.push(...ids.map((id) => (labelled ? id : IGNORE_INDEX)));
    };
    while (inputIds.length < seq) {
      const n = int([minPairs, maxPairs]);
      const keys = new Set();
      const pairs = [];
      for (let t = 0; pairs.length < n && t < 100 * n; t++) {
        const key = tokens(int(keyLen));
        if (keys.has(key.join(','))) continue;
        keys.add(key.join(','));
        pairs.push([key, tokens(int(valueLen))]);
      }
      // the segment's template (drawn only for a templated segment, so the plain rows stay as they were)
      const plain = !(templated > 0 && g.chance(templated));
      const F = plain ? sep : tokens(int(fillerLen));
      const T = plain ? [] : tokens(int([0, 1]));
      const P = plain ? [] : tokens(int(prefixLen));
      const Q = plain ? sep : tokens(int([1, 2]));
      put([bosId], false);
      for (const [key, value] of pairs) put([...key, ...F, ...value, ...T, ...end], false);
      // queries in a random order
      for (const [key, value] of shuffled(g, pairs)) {
        put([...P, ...key, ...Q], false);
        put([...value, ...end], true);
      }
    }
    rows.push({ inputIds: inputIds.slice(0, seq), labels: labels.slice(0, seq) });
  }
  return rows;
}

/** A sampler of ids with probability ∝ weights[id] (inverse CDF by binary search), drawing from the generator it is given. */
export function weightedIds(weights) {
  const cdf = new Float64Array(weights.length);
  let total = 0;
  weights.forEach((w, i) => { total += w; cdf[i] = total; });
  if (!(total > 0)) throw new Error('weightedIds: the weights are all zero');
  return (rng) => {
    const u = rng.next() * total;
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] > u) hi = mid; else lo = mid + 1;
    }
    return lo;
  };
}
