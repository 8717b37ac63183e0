/**
 * tokenizer.json (the Hugging Face `tokenizers` format) through the maintained @huggingface/tokenizers runtime.
 * Gemma's tokenizer is a byte-fallback BPE with "▁" for spaces and <bos> prepended by its post-processor.
 * Encoding and decoding agree with Hugging Face's Rust tokenizers on Gemma 3's tokenizer.json (test/io/bpe.test.ts).
 */
import { LoraLabError } from '../util/errors.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { useRustByteFallback } from './byteFallback.js';

export class TokenizerError extends LoraLabError {
  override name = 'TokenizerError';
}

export class TextTokenizer {
  /** Decoding follows Hugging Face's Rust tokenizers where the JS runtime differs (byte fallback, see byteFallback.ts). */
  constructor(private readonly tok: Tokenizer, readonly config: Record<string, unknown>, readonly source: string) {
    useRustByteFallback(tok);
  }

  static fromJson(tokenizerJson: object, tokenizerConfig: Record<string, unknown> = {}, source = '<tokenizer.json>'): TextTokenizer {
    try {
      return new TextTokenizer(new Tokenizer(tokenizerJson as never, tokenizerConfig as never), tokenizerConfig, source);
    } catch (e) {
      throw new TokenizerError(`cannot build a tokenizer (${(e as Error).message})`, { file: source });
    }
  }

  /** tokenizer.json (and tokenizer_config.json if present) from a model folder. */
  static fromDir(dir: string): TextTokenizer {
    const path = join(dir, 'tokenizer.json');
    if (!existsSync(path)) throw new TokenizerError('no tokenizer.json', { file: dir });
    const parse = (p: string) => {
      try {
        return JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
      } catch (e) {
        throw new TokenizerError(`not valid JSON (${(e as Error).message})`, { file: p });
      }
    };
    const cfgPath = join(dir, 'tokenizer_config.json');
    return TextTokenizer.fromJson(parse(path), existsSync(cfgPath) ? parse(cfgPath) : {}, path);
  }

  /** Token ids; `addSpecialTokens` (default true) applies the post-processor (Gemma: a leading <bos>). */
  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    return this.tok.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true }).ids;
  }

  decode(ids: number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return ''; // @huggingface/tokenizers rejects an empty list
    return this.tok.decode(ids, { skip_special_tokens: opts.skipSpecialTokens ?? false });
  }

  tokenToId(token: string): number | undefined {
    return this.tok.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.tok.id_to_token(id);
  }

  get vocabSize(): number {
    return this.tok.get_vocab(true).size;
  }
}
