import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TextTokenizer, gemmaTokenizerConfig, trainBpeTokenizer } from 'loralab/io';

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
