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
}

const SPECIALS = ['<pad>', '<eos>', '<bos>', '<unk>'];
const SPACE = '▁';

function words(text: string): string[] {
  const normalized = text.replace(/ /g, SPACE);
  // split before every "▁" so that each piece starts a word (newlines and other characters stay inside pieces)
  return normalized.split(new RegExp(`(?=${SPACE})`, 'u')).filter((w) => w.length > 0);
}

export function trainBpeTokenizer(texts: Iterable<string>, opts: BpeTrainOptions): Record<string, unknown> {
  const counts = new Map<string, number>();
  for (const t of texts) for (const w of words(t)) counts.set(w, (counts.get(w) ?? 0) + 1);
  const charFreq = new Map<string, number>();
  for (const [w, c] of counts) for (const ch of w) charFreq.set(ch, (charFreq.get(ch) ?? 0) + c);

  const vocab = new Map<string, number>();
  const specials = [...SPECIALS, ...(opts.specialTokens ?? [])];
  specials.forEach((s) => vocab.set(s, vocab.size));
  for (let b = 0; b < 256; b++) vocab.set(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, vocab.size);
  const minFreq = opts.minCharFrequency ?? 2;
  const chars = [...charFreq.entries()].filter(([, c]) => c >= minFreq).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  for (const [ch] of chars) if (!vocab.has(ch) && vocab.size < opts.vocabSize) vocab.set(ch, vocab.size);

  // words as symbol sequences (unknown characters stay as single symbols that never merge)
  const seqs = [...counts.entries()].map(([w, c]) => ({ syms: [...w], count: c }));
  const merges: [string, string][] = [];
  const splitDigits = opts.splitDigits ?? true;
  const hasDigit = /[0-9]/u;
  while (vocab.size < opts.vocabSize) {
    const pairs = new Map<string, number>();
    for (const { syms, count } of seqs) {
      for (let i = 0; i + 1 < syms.length; i++) {
        if (!vocab.has(syms[i]) || !vocab.has(syms[i + 1])) continue;
        if (splitDigits && (hasDigit.test(syms[i]) || hasDigit.test(syms[i + 1]))) continue;
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
    if (!best) break;
    const [a, b] = best.split('\u0000');
    const merged = a + b;
    merges.push([a, b]);
    if (!vocab.has(merged)) vocab.set(merged, vocab.size);
    for (const s of seqs) {
      const out: string[] = [];
      for (let i = 0; i < s.syms.length; i++) {
        if (i + 1 < s.syms.length && s.syms[i] === a && s.syms[i + 1] === b) {
          out.push(merged);
          i++;
        } else out.push(s.syms[i]);
      }
      s.syms = out;
    }
  }

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
