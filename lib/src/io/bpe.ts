/**
 * Train a small Gemma-style tokenizer: byte-fallback BPE over "▁"-joined text (SentencePiece style: spaces become
 * "▁" and pieces never cross a word start), written as a tokenizer.json that Hugging Face's `tokenizers` and
 * @huggingface/tokenizers load. Ids 0-3 are <pad>, <eos>, <bos>, <unk> as in Gemma; then the 256 byte tokens
 * <0x00>..<0xFF>; then characters and merges.
 */

export interface BpeTrainOptions {
  vocabSize: number;
  /** Characters seen fewer times than this fall back to bytes. */
  minCharFrequency?: number;
  /** Extra special tokens appended after the base ones (e.g. "<start_of_turn>"). */
  specialTokens?: string[];
  /**
   * Never merge a digit with anything (SentencePiece's `split_digits`, which Gemma's tokenizer uses): every number is
   * spelled digit by digit, so "147" reads the same in "customer 147." and in "customer_id = 147;". Default true.
   */
  splitDigits?: boolean;
  /**
   * Never merge a punctuation character (anything but a letter, a digit, "_" and the word-start "▁") with anything, so
   * "Dublin." reads "Dublin" "." and the "Dublin" is the same token as in "Dublin is". Default false.
   */
  splitPunctuation?: boolean;
  /**
   * Never merge the word-start "▁" with anything: a space is its own token and a word reads the same after a space, a
   * quote or a bracket (" Berlin?" and " 'Berlin'" share the token "Berlin"), which is what lets a small model copy a
   * value from a question into a query. Costs one token per word. Default false.
   */
  splitSpaces?: boolean;
}

const SPECIALS = ['<pad>', '<eos>', '<bos>', '<unk>'];
const SPACE = '▁';

function words(text: string): string[] {
  const normalized = text.replace(/ /g, SPACE);
  // split before every "▁" so that each piece starts a word (newlines and other characters stay inside pieces)
  return normalized.split(new RegExp(`(?=${SPACE})`, 'u')).filter((w) => w.length > 0);
}

/** A word as symbols (characters, then merged pieces), with how often the word occurs. */
interface Word {
  syms: string[];
  count: number;
}

/** Ids 0.. for the specials, then the 256 byte tokens, then every character seen ≥ minCharFrequency times, most frequent first. */
function baseVocab(specials: string[], counts: Map<string, number>, opts: BpeTrainOptions): Map<string, number> {
  const vocab = new Map<string, number>();
  specials.forEach((s) => vocab.set(s, vocab.size));
  for (let b = 0; b < 256; b++) vocab.set(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, vocab.size);
  const charFreq = new Map<string, number>();
  for (const [w, c] of counts) for (const ch of w) charFreq.set(ch, (charFreq.get(ch) ?? 0) + c);
  const minFreq = opts.minCharFrequency ?? 2;
  const chars = [...charFreq.entries()].filter(([, c]) => c >= minFreq).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  for (const [ch] of chars) if (!vocab.has(ch) && vocab.size < opts.vocabSize) vocab.set(ch, vocab.size);
  return vocab;
}

const HAS_DIGIT = /[0-9]/u;
const HAS_PUNCTUATION = /[^\p{L}\p{N}_▁]/u;

/** Whether the options forbid a merge that involves this symbol. */
function neverMerges(sym: string, opts: BpeTrainOptions): boolean {
  return ((opts.splitDigits ?? true) && HAS_DIGIT.test(sym)) || (!!opts.splitPunctuation && HAS_PUNCTUATION.test(sym)) || (!!opts.splitSpaces && sym.includes(SPACE));
}

/**
 * The adjacent pair of known symbols that occurs most often (ties: the smaller key), or null when no pair occurs twice.
 * A pair with a symbol the options keep apart (see neverMerges) on either side never counts.
 */
function mostFrequentPair(words: Word[], vocab: Map<string, number>, opts: BpeTrainOptions): [string, string] | null {
  const pairs = new Map<string, number>();
  for (const { syms, count } of words) {
    for (let i = 0; i + 1 < syms.length; i++) {
      if (!vocab.has(syms[i]) || !vocab.has(syms[i + 1])) continue;
      if (neverMerges(syms[i], opts) || neverMerges(syms[i + 1], opts)) continue;
      const k = `${syms[i]}\u0000${syms[i + 1]}`;
      pairs.set(k, (pairs.get(k) ?? 0) + count);
    }
  }
  let best: string | null = null;
  let bestCount = 1;
  for (const [k, c] of pairs) if (c > bestCount || (c === bestCount && best !== null && k < best)) {
    best = k;
    bestCount = c;
  }
  return best ? (best.split('\u0000') as [string, string]) : null;
}

/** Every occurrence of `a b` in every word, left to right, becomes the one symbol `ab`. */
function applyMerge(words: Word[], a: string, b: string): void {
  const merged = a + b;
  for (const w of words) {
    const out: string[] = [];
    for (let i = 0; i < w.syms.length; i++) {
      if (i + 1 < w.syms.length && w.syms[i] === a && w.syms[i + 1] === b) {
        out.push(merged);
        i++;
      } else out.push(w.syms[i]);
    }
    w.syms = out;
  }
}

export function trainBpeTokenizer(texts: Iterable<string>, opts: BpeTrainOptions): Record<string, unknown> {
  const counts = new Map<string, number>();
  for (const t of texts) for (const w of words(t)) counts.set(w, (counts.get(w) ?? 0) + 1);
  const specials = [...SPECIALS, ...(opts.specialTokens ?? [])];
  const vocab = baseVocab(specials, counts, opts);
  // words as symbol sequences (unknown characters stay as single symbols that never merge)
  const seqs: Word[] = [...counts.entries()].map(([w, c]) => ({ syms: [...w], count: c }));
  const merges: [string, string][] = [];
  while (vocab.size < opts.vocabSize) {
    const pair = mostFrequentPair(seqs, vocab, opts);
    if (!pair) break;
    merges.push(pair);
    if (!vocab.has(pair[0] + pair[1])) vocab.set(pair[0] + pair[1], vocab.size);
    applyMerge(seqs, pair[0], pair[1]);
  }
  return tokenizerJson(specials, vocab, merges);
}

/** tokenizer.json (Hugging Face `tokenizers`' format) of a byte-fallback BPE with "▁" for spaces and a <bos> template. */
function tokenizerJson(specials: string[], vocab: Map<string, number>, merges: [string, string][]): Record<string, unknown> {
  const added = specials.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: { type: 'Replace', pattern: { String: ' ' }, content: SPACE },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<bos>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<bos>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<bos>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<bos>': { id: '<bos>', ids: [2], tokens: ['<bos>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [{ type: 'Replace', pattern: { String: SPACE }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab: Object.fromEntries(vocab),
      merges,
    },
  };
}

/** tokenizer_config.json to go with it (Gemma's defaults). */
export function gemmaTokenizerConfig(): Record<string, unknown> {
  return {
    add_bos_token: true,
    add_eos_token: false,
    bos_token: '<bos>',
    eos_token: '<eos>',
    pad_token: '<pad>',
    unk_token: '<unk>',
    clean_up_tokenization_spaces: false,
    tokenizer_class: 'GemmaTokenizer',
  };
}
