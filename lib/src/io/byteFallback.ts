/**
 * The ByteFallback decoder as Hugging Face's Rust `tokenizers` runs it (`decoders/byte_fallback.rs`), which is what
 * transformers' tokenizers and PEFT users see. A run of consecutive byte tokens `<0xXX>` becomes its UTF-8 text if the
 * whole run is valid UTF-8; otherwise every byte token of the run becomes one U+FFFD. So `<0xF0><0x9F><0xA4>` (a
 * truncated emoji) decodes to three U+FFFD, where a WHATWG TextDecoder (used by @huggingface/tokenizers) gives one.
 */
import * as hf from '@huggingface/tokenizers';
import type { Tokenizer } from '@huggingface/tokenizers';

// The package exports these classes at run time, but its type declarations do not resolve them (an extensionless
// `export *`), so they are typed here by what is used: decode_chain and a Sequence's decoders.
interface DecoderLike {
  decode_chain(tokens: string[]): string[];
}
const { ByteFallbackDecoder, SequenceDecoder } = hf as unknown as {
  ByteFallbackDecoder: abstract new (...args: never[]) => DecoderLike;
  SequenceDecoder: abstract new (...args: never[]) => DecoderLike & { decoders: unknown[] };
};

// String::from_utf8: strict, and a leading U+FEFF is a character, not a mark to drop
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The byte a token stands for, or null: 6 bytes long, `<0x` ... `>`, and the 2 characters between parse with Rust's
 * `u8::from_str_radix(_, 16)`, which takes two hex digits or a `+` and one.
 */
function byteOf(token: string): number | null {
  if (token.length !== 6 || !token.startsWith('<0x') || token[5] !== '>') return null;
  const h = token.slice(3, 5);
  return /^(\+[0-9a-fA-F]|[0-9a-fA-F]{2})$/.test(h) ? parseInt(h, 16) : null;
}

/** ByteFallback's decode_chain: tokens in, tokens out (byte runs replaced by text or by one U+FFFD per byte). */
export function byteFallbackDecodeChain(tokens: string[]): string[] {
  const out: string[] = [];
  let run: number[] = [];
  const flush = () => {
    if (run.length === 0) return;
    try {
      out.push(strictUtf8.decode(Uint8Array.from(run)));
    } catch {
      for (let i = 0; i < run.length; i++) out.push('\uFFFD');
    }
    run = [];
  };
  for (const t of tokens) {
    const b = byteOf(t);
    if (b === null) {
      flush();
      out.push(t);
    } else {
      run.push(b);
    }
  }
  flush();
  return out;
}

/** Make every ByteFallback decoder of a tokenizer (also inside a Sequence) decode as the Rust one does. */
export function useRustByteFallback(tok: Tokenizer): void {
  const visit = (d: unknown): void => {
    if (d instanceof ByteFallbackDecoder) d.decode_chain = byteFallbackDecodeChain;
    else if (d instanceof SequenceDecoder) d.decoders.forEach(visit);
  };
  visit(tok.decoder);
}
