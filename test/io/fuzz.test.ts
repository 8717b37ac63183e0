/**
 * Fuzz-style robustness: thousands of mutated headers and truncated files must give a SafetensorsError (or a valid
 * parse), never another exception, a hang, or a read (= allocation) larger than the file.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SafetensorsError, SafetensorsReader, serialize } from 'loralab/io';
import { Rng } from '../../lib/src/util/rng.js';
import { RecordingSource } from '../helpers/recordingSource.js';

function seedFile(): Uint8Array {
  const f32 = (n: number) => new Uint8Array(new Float32Array(n).map((_, i) => i / 7).buffer);
  return serialize(
    {
      'model.layers.0.self_attn.q_proj.weight': { dtype: 'U8', shape: [32, 1], data: new Uint8Array(32).fill(0x7f) },
      'model.layers.0.self_attn.q_proj.weight.absmax': { dtype: 'F32', shape: [1], data: f32(1) },
      'model.layers.0.self_attn.q_proj.weight.quant_map': { dtype: 'F32', shape: [16], data: f32(16) },
      'model.norm.weight': { dtype: 'BF16', shape: [8], data: new Uint8Array(16) },
      scalar: { dtype: 'I64', shape: [], data: new Uint8Array(8) },
    },
    { format: 'pt' },
  );
}

/** Parse and read every tensor; returns the outcome. Any non-SafetensorsError escapes and fails the test. */
function attempt(bytes: Uint8Array): 'ok' | 'error' {
  const src = new RecordingSource(bytes);
  try {
    const r = new SafetensorsReader(src);
    for (const t of r.tensors) r.read(t.name);
    return 'ok';
  } catch (e) {
    if (!(e instanceof SafetensorsError)) throw new Error(`unexpected ${(e as Error).name}: ${(e as Error).message}`);
    expect(e.message).toMatch(/^fuzz\.safetensors(: | is not a safetensors file: )/);
    return 'error';
  } finally {
    for (const r of src.reads) expect(r.offset + r.length).toBeLessThanOrEqual(bytes.length);
    expect(src.bytesRead).toBeLessThanOrEqual(bytes.length + 8);
  }
}

const JSON_BYTES = [...'{}[]",:0123456789-. etruflaEnx'].map((c) => c.charCodeAt(0));

describe('safetensors fuzz', () => {
  const base = seedFile();
  const headerEnd = 8 + Number(new DataView(base.buffer).getBigUint64(0, true));

  it('5000 header mutations: byte flips, JSON-ish substitutions, insertions, deletions', () => {
    const rng = new Rng(1234);
    const outcomes = { ok: 0, error: 0 };
    for (let k = 0; k < 5000; k++) {
      let b = Array.from(base);
      const edits = 1 + Math.floor(rng.next() * 4);
      for (let e = 0; e < edits; e++) {
        const pos = 8 + Math.floor(rng.next() * (headerEnd - 8));
        const op = rng.next();
        if (op < 0.4) b[pos] = Math.floor(rng.next() * 256);
        else if (op < 0.7) b[pos] = JSON_BYTES[Math.floor(rng.next() * JSON_BYTES.length)];
        else if (op < 0.85) b.splice(pos, 0, JSON_BYTES[Math.floor(rng.next() * JSON_BYTES.length)]);
        else b.splice(pos, 1);
      }
      if (rng.next() < 0.5) {
        // keep N consistent with the edited header length half of the time, so validation goes deeper
        const n = BigInt(headerEnd - 8 + (b.length - base.length));
        const v = new DataView(new Uint8Array(b).buffer);
        v.setBigUint64(0, n, true);
        b = Array.from(new Uint8Array(v.buffer));
      }
      outcomes[attempt(Uint8Array.from(b))]++;
    }
    expect(outcomes.error).toBeGreaterThan(2500);
  });

  it('every truncation of the file, and every length prefix value class', () => {
    for (let len = 0; len < base.length; len++) expect(attempt(base.subarray(0, len))).toBe('error');
    expect(attempt(base)).toBe('ok');
    const rng = new Rng(99);
    for (let k = 0; k < 2000; k++) {
      const b = base.slice();
      const v = new DataView(b.buffer);
      const r = rng.next();
      const n = r < 0.3 ? BigInt(Math.floor(rng.next() * 2 ** 53)) * 2048n : r < 0.6 ? BigInt(Math.floor(rng.next() * base.length * 2)) : BigInt(headerEnd - 8 + Math.floor(rng.next() * 17) - 8);
      v.setBigUint64(0, n < 0n ? 0n : n & 0xffffffffffffffffn, true);
      attempt(b);
    }
  });

  it('mutated shapes and offsets (structured fuzz)', () => {
    const rng = new Rng(5);
    const pick = <T>(xs: T[]) => xs[Math.floor(rng.next() * xs.length)];
    const nums = ['0', '1', '-1', '4', '16', '1e3', '1.5', '9007199254740993', '18446744073709551615', '"4"', 'null', '[]', '{}'];
    for (let k = 0; k < 2000; k++) {
      const shape = `[${Array.from({ length: Math.floor(rng.next() * 4) }, () => pick(nums)).join(',')}]`;
      const off = `[${pick(nums)},${pick(nums)}]`;
      const dtype = pick(['"F32"', '"U8"', '"F4"', '"F6_E2M3"', '"BOOL"', '"X"', '1', 'null']);
      const header = `{"t":{"dtype":${dtype},"shape":${shape},"data_offsets":${off}}}`;
      const h = Buffer.from(header);
      const data = new Uint8Array(Math.floor(rng.next() * 20));
      const b = new Uint8Array(8 + h.length + data.length);
      new DataView(b.buffer).setBigUint64(0, BigInt(h.length), true);
      b.set(h, 8);
      attempt(b);
    }
  });
});

describe('safetensors header parser: property tests', () => {
  const T = '"dtype":"U8","shape":[2],"data_offsets":[0,2]';
  const file = (header: string) => {
    const h = Buffer.from(header);
    const b = new Uint8Array(8 + h.length + 2);
    new DataView(b.buffer).setBigUint64(0, BigInt(h.length), true);
    b.set(h, 8);
    return b;
  };
  it('any JSON value (well-formed strings) in an unknown field is skipped, and the tensor still reads', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => {
        const text = JSON.stringify(v);
        fc.pre(!/\\ud[89a-f]/i.test(text)); // JSON.stringify escapes only lone surrogates, which serde refuses
        const r = SafetensorsReader.fromBytes(file(`{"t":{${T},"extra":${text}}}`));
        expect(r.info('t').shape).toEqual([2]);
      }),
      { numRuns: 500 },
    );
  });
  it('any string survives as a tensor name and a metadata value, escaped as JSON.stringify escapes it', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 20 }), (name, value) => {
        // a lone surrogate cannot be written as UTF-8 (TextEncoder would replace it), so only well-formed strings
        const wellFormed = (x: string) => !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(x);
        fc.pre(name !== '__metadata__' && wellFormed(name) && wellFormed(value));
        const r = SafetensorsReader.fromBytes(file(`{"__metadata__":{"k":${JSON.stringify(value)}},${JSON.stringify(name)}:{${T}}}`));
        expect(r.names()).toEqual([name]);
        expect(r.metadata!.k).toBe(value);
      }),
      { numRuns: 500 },
    );
  });
});
