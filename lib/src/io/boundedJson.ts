/**
 * A pull reader for JSON text with serde_json's rules, for headers that come from untrusted files. `JSON.parse` builds
 * the whole tree before anything can be checked, cannot bound nesting (98 MB of `[` exhausts memory), merges
 * duplicate keys silently and accepts lone surrogate escapes. Here the caller asks for one value at a time, so a
 * schema reader can refuse a wrong type, a duplicate field or one element too many before allocating anything.
 *
 * Grammar and limits are serde_json's (the parser behind the safetensors reference reader):
 * - whitespace is space, tab, CR, LF only (a UTF-8 BOM or a form feed is an error);
 * - containers nest at most `maxDepth - 1` deep: serde_json starts a budget at 128 and fails when opening a container
 *   takes it to 0 (`check_recursion!`), so 127 nested `[` parse and 128 do not;
 * - numbers: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`; a literal without fraction or exponent is an integer
 *   (`-0` is a float there, and an integer above 2^64 − 1 is parsed as a float); a float that overflows to ±∞ is an error
 *   ("number out of range");
 * - strings: no raw control characters (U+0000..U+001F), escapes `\" \\ \/ \b \f \n \r \t \uXXXX`, and a `\u` escape
 *   of a surrogate must be a high one followed at once by an escaped low one.
 */
import { LoraLabError } from '../util/errors.js';

export class JsonSyntaxError extends LoraLabError {
  override name = 'JsonSyntaxError';
  constructor(detail: string, readonly offset: number) {
    super(`${detail} at character ${offset}`);
  }
}

export type JsonKind = 'object' | 'array' | 'string' | 'number' | 'true' | 'false' | 'null';

/** A number literal as written: `uint` = no sign, fraction or exponent; `int` = a negative integer; else `float`. */
export interface JsonNumber {
  text: string;
  kind: 'uint' | 'int' | 'float';
}

/** serde_json's default recursion budget. */
export const SERDE_JSON_MAX_DEPTH = 128;

const U64_MAX = 18446744073709551615n;

export class JsonReader {
  private pos = 0;
  private depth = 0;
  /** Per open container: has it produced an element yet (so the next one needs a comma)? */
  private readonly started: Uint8Array;

  constructor(private readonly text: string, private readonly maxDepth = SERDE_JSON_MAX_DEPTH) {
    this.started = new Uint8Array(maxDepth + 1);
  }

  get offset(): number {
    return this.pos;
  }

  private fail(detail: string, at = this.pos): never {
    throw new JsonSyntaxError(detail, at);
  }

  private skipWs(): void {
    const t = this.text;
    let p = this.pos;
    for (;;) {
      const c = t.charCodeAt(p);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
      else break;
    }
    this.pos = p;
  }

  /** The kind of the next value (whitespace skipped); an error if none can start here. */
  peek(): JsonKind {
    this.skipWs();
    const c = this.text.charCodeAt(this.pos);
    switch (c) {
      case 0x7b: return 'object';
      case 0x5b: return 'array';
      case 0x22: return 'string';
      case 0x74: return 'true';
      case 0x66: return 'false';
      case 0x6e: return 'null';
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return 'number';
        return this.fail(Number.isNaN(c) ? 'unexpected end of input, expected a value' : 'expected a value');
    }
  }

  private open(ch: string): void {
    this.skipWs();
    if (this.text[this.pos] !== ch) this.fail(`expected '${ch}'`);
    if (this.depth + 1 >= this.maxDepth) this.fail(`nested deeper than ${this.maxDepth - 1} levels (recursion limit)`);
    this.pos++;
    this.depth++;
    this.started[this.depth] = 0;
  }

  /** Before each element of the open container: true if one follows, false (and the container is closed) at its end. */
  private more(close: string): boolean {
    this.skipWs();
    const ch = this.text[this.pos];
    if (ch === close) {
      this.pos++;
      this.depth--;
      return false;
    }
    if (this.started[this.depth]) {
      if (ch !== ',') this.fail(ch === undefined ? 'unexpected end of input' : `expected ',' or '${close}'`);
      this.pos++;
      this.skipWs();
      if (this.text[this.pos] === close) this.fail('trailing comma');
    }
    this.started[this.depth] = 1;
    return true;
  }

  beginObject(): void {
    this.open('{');
  }

  /** The next key of the open object (its ':' consumed), or null when the object ends. */
  nextKey(): string | null {
    if (!this.more('}')) return null;
    if (this.peek() !== 'string') this.fail('expected a string key');
    const key = this.readString();
    this.skipWs();
    if (this.text[this.pos] !== ':') this.fail("expected ':'");
    this.pos++;
    return key;
  }

  beginArray(): void {
    this.open('[');
  }

  /** True if the open array has another element, false when it ends. */
  nextItem(): boolean {
    return this.more(']');
  }

  readString(): string {
    this.skipWs();
    const t = this.text;
    if (t.charCodeAt(this.pos) !== 0x22) this.fail('expected a string');
    let p = this.pos + 1;
    let out = '';
    let chunk = p;
    for (;;) {
      const c = t.charCodeAt(p);
      if (c === 0x22) break;
      if (Number.isNaN(c)) this.fail('unterminated string', p);
      if (c < 0x20) this.fail('control character (U+0000..U+001F) in a string', p);
      if (c !== 0x5c) {
        p++;
        continue;
      }
      out += t.slice(chunk, p);
      const e = t[p + 1];
      p += 2;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          const u = this.hex4(p);
          p += 4;
          if (u >= 0xdc00 && u <= 0xdfff) this.fail('lone trailing surrogate in a \\u escape', p - 6);
          if (u >= 0xd800 && u <= 0xdbff) {
            if (t[p] !== '\\' || t[p + 1] !== 'u') this.fail('lone leading surrogate in a \\u escape', p - 6);
            const lo = this.hex4(p + 2);
            if (lo < 0xdc00 || lo > 0xdfff) this.fail('lone leading surrogate in a \\u escape', p - 6);
            out += String.fromCharCode(u, lo);
            p += 6;
          } else {
            out += String.fromCharCode(u);
          }
          break;
        }
        default:
          this.fail('invalid escape', p - 2);
      }
      chunk = p;
    }
    out += t.slice(chunk, p);
    this.pos = p + 1;
    return out;
  }

  private hex4(p: number): number {
    const s = this.text.slice(p, p + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(s)) this.fail('invalid \\u escape', p);
    return parseInt(s, 16);
  }

  readNumber(): JsonNumber {
    this.skipWs();
    const t = this.text;
    const start = this.pos;
    let p = start;
    const digit = (i: number) => {
      const c = t.charCodeAt(i);
      return c >= 0x30 && c <= 0x39;
    };
    const neg = t[p] === '-';
    if (neg) p++;
    if (t[p] === '0') {
      p++;
      if (digit(p)) this.fail('invalid number (leading zero)', start);
    } else if (digit(p)) {
      while (digit(p)) p++;
    } else {
      this.fail('invalid number', start);
    }
    let isFloat = false;
    if (t[p] === '.') {
      p++;
      if (!digit(p)) this.fail('invalid number (no digit after the point)', start);
      while (digit(p)) p++;
      isFloat = true;
    }
    if (t[p] === 'e' || t[p] === 'E') {
      p++;
      if (t[p] === '+' || t[p] === '-') p++;
      if (!digit(p)) this.fail('invalid number (no digit in the exponent)', start);
      while (digit(p)) p++;
      isFloat = true;
    }
    this.pos = p;
    const text = t.slice(start, p);
    let kind: JsonNumber['kind'] = isFloat ? 'float' : neg ? 'int' : 'uint';
    if (text === '-0') kind = 'float';
    // serde_json reads an integer beyond u64 (or below i64) as a float
    if (kind !== 'float' && text.length >= 19) {
      const v = BigInt(text);
      if (v > U64_MAX || v < -(2n ** 63n)) kind = 'float';
    }
    if (kind === 'float' && !Number.isFinite(Number(text))) this.fail('number out of range', start);
    return { text, kind };
  }

  readLiteral(): true | false | null {
    const k = this.peek();
    const word = k === 'true' ? 'true' : k === 'false' ? 'false' : k === 'null' ? 'null' : this.fail('expected true, false or null');
    if (this.text.slice(this.pos, this.pos + word.length) !== word) this.fail(`invalid literal (expected ${word})`);
    this.pos += word.length;
    return k === 'true' ? true : k === 'false' ? false : null;
  }

  /** Read and discard one value, checking its syntax and depth (recursion is bounded by maxDepth). */
  skipValue(): void {
    switch (this.peek()) {
      case 'object':
        this.beginObject();
        while (this.nextKey() !== null) this.skipValue();
        return;
      case 'array':
        this.beginArray();
        while (this.nextItem()) this.skipValue();
        return;
      case 'string':
        this.readString();
        return;
      case 'number':
        this.readNumber();
        return;
      default:
        this.readLiteral();
    }
  }

  /** After the top-level value: only whitespace may follow. */
  end(): void {
    this.skipWs();
    if (this.pos < this.text.length) this.fail('trailing characters after the JSON value');
  }
}
