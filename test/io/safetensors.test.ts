import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { DTYPES, DTYPE_BITS, HEADER_LIMITS, MemorySource, SafetensorsError, SafetensorsReader, SafetensorsWriter, readHeader, serialize, typedView, writeSafetensors, type Dtype, type RawTensor } from 'loralab/io';
import { table } from '../../lib/src/cli/format.js';
import { RecordingSource } from '../helpers/recordingSource.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const ascii = (s: string) => Buffer.from(s, 'utf8').toString('hex');
const tmp = () => mkdtempSync(join(tmpdir(), 'loralab-st-'));

function fileWith(header: string, data: Uint8Array = new Uint8Array(0), n?: bigint): Uint8Array {
  const h = Buffer.from(header, 'utf8');
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, n ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

function expectCode(f: () => unknown, code: string, message?: RegExp): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SafetensorsError);
    expect((e as SafetensorsError).code).toBe(code);
    if (message) expect((e as Error).message).toMatch(message);
    return;
  }
  throw new Error(`expected ${code}, but it succeeded`);
}

describe('writer: known-answer vectors (reference notes §5.5)', () => {
  it('serialize({"test": I32 [2,2] zeros}) is 88 bytes: N = 64, header, 4 spaces, 16 zeros', () => {
    const bytes = serialize({ test: { dtype: 'I32', shape: [2, 2], data: new Uint8Array(16) } });
    expect(bytes).toHaveLength(88);
    expect(hex(bytes)).toBe('4000000000000000' + ascii('{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}') + '20202020' + '00'.repeat(16));
  });
  it('PEFT-style file: metadata first, tensors sorted by name, N = 176, 200 bytes', () => {
    const f32 = (v: number[]) => new Uint8Array(Float32Array.from(v).buffer);
    const bytes = serialize(
      { 'b.lora_B.weight': { dtype: 'F32', shape: [2, 1], data: f32([3, 4]) }, 'a.lora_A.weight': { dtype: 'F32', shape: [1, 2], data: f32([1, 2]) } },
      { format: 'pt' },
    );
    const header = '{"__metadata__":{"format":"pt"},"a.lora_A.weight":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},"b.lora_B.weight":{"dtype":"F32","shape":[2,1],"data_offsets":[8,16]}}';
    expect(bytes).toHaveLength(200);
    expect(Number(new DataView(bytes.buffer).getBigUint64(0, true))).toBe(176);
    expect(Buffer.from(bytes.subarray(8, 8 + 176)).toString()).toBe(header + '     ');
  });
  it('orders mixed dtypes by dtype (descending enum order), then name', () => {
    const r = SafetensorsReader.fromBytes(
      serialize({ w: { dtype: 'U8', shape: [3, 1], data: new Uint8Array(3) }, q: { dtype: 'F32', shape: [1], data: new Uint8Array(4) }, b: { dtype: 'BF16', shape: [2], data: new Uint8Array(4) } }),
    );
    expect(r.tensors.map((t) => [t.name, t.dataOffsets])).toEqual([['q', [0, 4]], ['b', [4, 8]], ['w', [8, 11]]]);
  });
  it('keeps integer-like names in sorted order (not JS object order)', () => {
    const r = SafetensorsReader.fromBytes(serialize({ b: { dtype: 'U8', shape: [1], data: new Uint8Array(1) }, '10': { dtype: 'U8', shape: [1], data: new Uint8Array(1) }, '9': { dtype: 'U8', shape: [1], data: new Uint8Array(1) } }));
    expect(r.names()).toEqual(['10', '9', 'b']);
  });
  it('refuses data of the wrong size, a reserved name and non-string metadata', () => {
    expect(() => serialize({ x: { dtype: 'F32', shape: [2], data: new Uint8Array(4) } })).toThrow(/needs 8/);
    expect(() => serialize({ __metadata__: { dtype: 'U8', shape: [1], data: new Uint8Array(1) } })).toThrow(/reserved/);
    expect(() => serialize({}, { a: 1 as unknown as string })).toThrow(/must be a string/);
  });
});

describe('reader: accepts what the reference accepts', () => {
  it('the unpadded 76-byte form from the crate doc test', () => {
    const r = SafetensorsReader.fromBytes(fileWith('{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}', new Uint8Array(16)));
    expect(r.header.headerSize).toBe(60);
    expect(Array.from(typedView(r.read('test')) as Int32Array)).toEqual([0, 0, 0, 0]);
  });
  it('whitespace around the JSON, zero-size and 0-rank tensors, empty files', () => {
    expect(SafetensorsReader.fromBytes(fileWith('{}\r \t\n')).tensors).toEqual([]);
    expect(SafetensorsReader.fromBytes(fileWith('  {}')).tensors).toEqual([]);
    const z = SafetensorsReader.fromBytes(fileWith('{"z":{"dtype":"F32","shape":[2,0],"data_offsets":[0,0]},"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}', new Uint8Array(4)));
    expect(z.info('z').shape).toEqual([2, 0]);
    expect(z.read('s').data).toHaveLength(4);
  });
  it('reads a tensor by offset without reading the others', () => {
    const big = new Uint8Array(1 << 20);
    const bytes = serialize({ big: { dtype: 'U8', shape: [big.length], data: big }, small: { dtype: 'F32', shape: [1], data: new Uint8Array(Float32Array.of(7).buffer) } });
    const src = new RecordingSource(bytes);
    const r = new SafetensorsReader(src);
    expect(Array.from(typedView(r.read('small')) as Float32Array)).toEqual([7]);
    expect(src.bytesRead).toBeLessThan(200);
  });
  it('reads every dtype with its bit width', () => {
    const tensors: Record<string, RawTensor> = {};
    for (const d of DTYPES) {
      const shape = [2, 4];
      tensors[`t_${d}`] = { dtype: d, shape, data: new Uint8Array((8 * DTYPE_BITS[d]) / 8).map((_, i) => i) };
    }
    const r = SafetensorsReader.fromBytes(serialize(tensors));
    for (const d of DTYPES) expect(r.read(`t_${d}`).data).toEqual(tensors[`t_${d}`].data);
    expect((typedView(r.read('t_I64')) as BigInt64Array).length).toBe(8);
  });
});

describe('reader: every validation rule, with its own error', () => {
  const i32 = '{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}';
  it('HeaderTooSmall: an empty file', () => expectCode(() => SafetensorsReader.fromBytes(new Uint8Array(0), 'e.safetensors'), 'HeaderTooSmall', /e\.safetensors/));
  it('HeaderTooLarge: N = 0xffffffff0000003c', () => {
    const b = new Uint8Array([0x3c, 0, 0, 0, 0, 0xff, 0xff, 0xff]);
    expectCode(() => SafetensorsReader.fromBytes(b), 'HeaderTooLarge');
  });
  it('InvalidHeaderLength: N = 60 and nothing after it', () => expectCode(() => SafetensorsReader.fromBytes(new Uint8Array([0x3c, 0, 0, 0, 0, 0, 0, 0])), 'InvalidHeaderLength', /truncated/));
  it('InvalidHeader: bytes that are not UTF-8', () => expectCode(() => SafetensorsReader.fromBytes(new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0, 0xff])), 'InvalidHeader'));
  it('InvalidHeaderDeserialization: "{" alone', () => expectCode(() => SafetensorsReader.fromBytes(fileWith('{')), 'InvalidHeaderDeserialization'));
  it('InvalidHeaderDeserialization: an array, an unknown dtype, a bad shape, bad offsets, non-string metadata', () => {
    expectCode(() => SafetensorsReader.fromBytes(fileWith('[]')), 'InvalidHeaderDeserialization', /JSON object/);
    expectCode(() => SafetensorsReader.fromBytes(fileWith('{"x":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(4))), 'InvalidHeaderDeserialization', /tensor 'x': dtype must be one of .*got "F33"/);
    expectCode(() => SafetensorsReader.fromBytes(fileWith('{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}')), 'InvalidHeaderDeserialization', /shape/);
    expectCode(() => SafetensorsReader.fromBytes(fileWith('{"x":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}')), 'InvalidHeaderDeserialization', /shape/);
    expectCode(() => SafetensorsReader.fromBytes(fileWith('{"x":{"dtype":"F32","shape":[1],"data_offsets":[0]}}')), 'InvalidHeaderDeserialization', /data_offsets/);
    expectCode(() => SafetensorsReader.fromBytes(fileWith('{"x":{"dtype":"F32","shape":[1]}}')), 'InvalidHeaderDeserialization', /data_offsets/);
    expectCode(() => SafetensorsReader.fromBytes(fileWith('{"x":7}')), 'InvalidHeaderDeserialization', /entry/);
    expectCode(() => SafetensorsReader.fromBytes(fileWith('{"__metadata__":{"a":1}}')), 'InvalidHeaderDeserialization', /__metadata__\.a must be a string/);
  });
  it('InvalidOffset: gaps, overlaps, reversed ranges, not starting at 0', () => {
    expectCode(() => SafetensorsReader.fromBytes(fileWith('{"x":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}', new Uint8Array(8))), 'InvalidOffset', /gap/);
    expectCode(() => SafetensorsReader.fromBytes(fileWith('{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}', new Uint8Array(6))), 'InvalidOffset', /overlap/);
    expectCode(() => SafetensorsReader.fromBytes(fileWith('{"x":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}}', new Uint8Array(4))), 'InvalidOffset');
  });
  it('ValidationOverflow: shape [2, 18446744073709551614]', () => {
    expectCode(() => SafetensorsReader.fromBytes(fileWith('{"x":{"dtype":"F32","shape":[2,18446744073709551614],"data_offsets":[0,16]}}', new Uint8Array(16))), 'ValidationOverflow');
    expectCode(() => SafetensorsReader.fromBytes(fileWith('{"x":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]}}', new Uint8Array(16))), 'ValidationOverflow');
  });
  it('MisalignedSlice: 3 elements of F4', () => expectCode(() => SafetensorsReader.fromBytes(fileWith('{"x":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}', new Uint8Array(2))), 'MisalignedSlice'));
  it('TensorInvalidInfo: data_offsets [0,4] for I32 [2,2]', () => {
    expectCode(() => SafetensorsReader.fromBytes(fileWith('{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,4]}}', new Uint8Array(4))), 'TensorInvalidInfo', /needs 16 bytes/);
  });
  it('MetadataIncompleteBuffer: trailing bytes, or 2 bytes missing', () => {
    expectCode(() => SafetensorsReader.fromBytes(fileWith(i32, new Uint8Array(18))), 'MetadataIncompleteBuffer', /trailing/);
    expectCode(() => SafetensorsReader.fromBytes(fileWith(i32, new Uint8Array(14))), 'MetadataIncompleteBuffer', /truncated/);
  });
  it('TensorNotFound and IoError name the file', () => {
    const r = SafetensorsReader.fromBytes(fileWith(i32, new Uint8Array(16)), 'model.safetensors');
    expectCode(() => r.info('nope'), 'TensorNotFound', /model\.safetensors.*'nope'/);
    expectCode(() => SafetensorsReader.open('/nonexistent/x.safetensors'), 'IoError', /no such file/);
  });
});

describe('files on disk', () => {
  it('writeSafetensors writes atomically and reads back; SafetensorsWriter accepts any order', () => {
    const dir = tmp();
    const p = join(dir, 'a.safetensors');
    const t = { w: { dtype: 'F32' as Dtype, shape: [2], data: new Uint8Array(Float32Array.of(1, 2).buffer) }, b: { dtype: 'U8' as Dtype, shape: [3], data: Uint8Array.of(1, 2, 3) } };
    writeSafetensors(p, t, { format: 'pt' });
    expect(readdirSync(dir)).toEqual(['a.safetensors']);
    const w = new SafetensorsWriter(join(dir, 'b.safetensors'), t, { format: 'pt' });
    w.write('b', t.b.data);
    w.write('w', t.w.data);
    w.close();
    expect(readFileSync(join(dir, 'b.safetensors'))).toEqual(readFileSync(p));
    const r = SafetensorsReader.open(p);
    expect(r.metadata).toEqual({ format: 'pt' });
    expect(r.read('b').data).toEqual(Uint8Array.of(1, 2, 3));
    r.close();
  });
  it('an unfinished writer leaves no file behind', () => {
    const dir = tmp();
    const w = new SafetensorsWriter(join(dir, 'c.safetensors'), { x: { dtype: 'U8', shape: [1] } });
    expect(() => w.close()).toThrow(/never written: x/);
    expect(existsSync(join(dir, 'c.safetensors'))).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });
  it('reads files made by hand with the Python layout', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'h.safetensors'), fileWith('{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}    ', new Uint8Array(16)));
    expect(SafetensorsReader.open(join(dir, 'h.safetensors')).names()).toEqual(['test']);
  });
});

describe('property: write/read round trip', () => {
  const dtypeArb = fc.constantFrom<Dtype>('F32', 'F16', 'BF16', 'U8', 'I8', 'I32', 'I64', 'BOOL', 'F64', 'U16');
  const tensorArb = fc.record({ dtype: dtypeArb, shape: fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 3 }) }).chain(({ dtype, shape }) => {
    const bytes = (shape.reduce((a, b) => a * b, 1) * DTYPE_BITS[dtype]) / 8;
    return fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((data) => ({ dtype, shape, data }) as RawTensor);
  });
  it('any set of tensors and metadata survives serialize -> read', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }).filter((s) => s !== '__metadata__' && s !== '__proto__'), tensorArb, { maxKeys: 8 }),
        fc.option(fc.dictionary(fc.string({ maxLength: 8 }).filter((s) => s !== '__proto__'), fc.string({ maxLength: 20 }), { maxKeys: 3 }), { nil: null }),
        (tensors, metadata) => {
          const bytes = serialize(tensors, metadata);
          const headerN = Number(new DataView(bytes.buffer).getBigUint64(0, true));
          if (headerN % 8 !== 0) return false;
          const r = SafetensorsReader.fromBytes(bytes);
          if (Object.keys(tensors).length !== r.tensors.length) return false;
          for (const [name, t] of Object.entries(tensors)) {
            const back = r.read(name);
            if (back.dtype !== t.dtype || back.shape.join() !== t.shape.join() || hex(back.data) !== hex(t.data)) return false;
          }
          return JSON.stringify(r.metadata) === JSON.stringify(metadata);
        },
      ),
      { numRuns: 500 },
    );
  });
});

/**
 * Case by case against the reference reader. Each expectation was checked with serde_json 1.0.87 deserializing the
 * reference's own types (`HashMetadata` with a flattened `HashMap<String, TensorInfo>`, `TensorInfo { dtype, shape:
 * Vec<usize>, data_offsets: (usize, usize) }`): OK where it parses, an error where it does not.
 */
describe('reader: parity with the reference reader (serde_json)', () => {
  const T = '"dtype":"F32","shape":[1],"data_offsets":[0,4]';
  const f32 = new Uint8Array(4);
  const refused = (header: string, data: Uint8Array, message: RegExp) => expectCode(() => SafetensorsReader.fromBytes(fileWith(header, data)), 'InvalidHeaderDeserialization', message);
  it('integers written as floats in shape or data_offsets ([4.0], [4e0], -0) are refused', () => {
    refused('{"t":{"dtype":"F32","shape":[4.0],"data_offsets":[0,16]}}', new Uint8Array(16), /tensor 't': shape must be .*got 4\.0 \(written as a float/);
    refused('{"t":{"dtype":"F32","shape":[4e0],"data_offsets":[0,16]}}', new Uint8Array(16), /got 4e0/);
    refused('{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4.0]}}', f32, /data_offsets must be .*got 4\.0/);
    refused('{"t":{"dtype":"F32","shape":[-0],"data_offsets":[0,0]}}', new Uint8Array(0), /got -0/);
    refused('{"t":{"dtype":"F32","shape":[18446744073709551616,0],"data_offsets":[0,0]}}', new Uint8Array(0), /beyond 2\^64 - 1/);
  });
  it('a field given twice in a tensor entry, and __metadata__ given twice, are refused', () => {
    refused(`{"t":{"dtype":"F32",${T}}}`, f32, /tensor 't': duplicate field `dtype`/);
    refused(`{"t":{${T},"data_offsets":[0,4]}}`, f32, /duplicate field `data_offsets`/);
    refused(`{"__metadata__":{},"__metadata__":{},"t":{${T}}}`, f32, /duplicate field `__metadata__`/);
  });
  it('a tensor name or metadata key given twice keeps the last entry (serde HashMap semantics)', () => {
    const r = SafetensorsReader.fromBytes(fileWith(`{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"t":{${T}},"__metadata__":{"a":"1","a":"2"}}`, f32));
    expect(r.names()).toEqual(['t']);
    expect(r.info('t').shape).toEqual([1]);
    expect(r.metadata).toEqual({ a: '2' });
  });
  it('"__metadata__": null is accepted (an Option) and reads as no metadata', () => {
    const r = SafetensorsReader.fromBytes(fileWith(`{"__metadata__":null,"t":{${T}}}`, f32));
    expect(r.metadata).toBeNull();
    expect(r.names()).toEqual(['t']);
  });
  it('lone surrogate escapes are refused in names, metadata and skipped fields; pairs decode', () => {
    refused(`{"\\ud800":{${T}}}`, f32, /lone leading surrogate/);
    refused(`{"\\udc00":{${T}}}`, f32, /lone trailing surrogate/);
    refused(`{"\\ud800\\u0041":{${T}}}`, f32, /lone leading surrogate/);
    refused('{"__metadata__":{"a":"\\ud800"}}', new Uint8Array(0), /lone leading surrogate/);
    refused(`{"t":{${T},"x":"\\ud800"}}`, f32, /lone leading surrogate/);
    expect(SafetensorsReader.fromBytes(fileWith(`{"\\ud83d\\ude00":{${T}}}`, f32)).names()).toEqual(['😀']);
  });
  it('a UTF-8 byte order mark before the header is refused', () => {
    refused(`\ufeff{"t":{${T}}}`, f32, /byte order mark/);
  });
  it('shape [2^40, 2^40, 0] overflows before its zero (ValidationOverflow); [0, 2^40, 2^40] and [2^64 - 1, 0] do not', () => {
    expectCode(() => SafetensorsReader.fromBytes(fileWith('{"t":{"dtype":"F32","shape":[1099511627776,1099511627776,0],"data_offsets":[0,0]}}')), 'ValidationOverflow', /tensor 't'/);
    expect(SafetensorsReader.fromBytes(fileWith('{"t":{"dtype":"F32","shape":[0,1099511627776,1099511627776],"data_offsets":[0,0]}}')).info('t').shape).toEqual([0, 2 ** 40, 2 ** 40]);
    expect(SafetensorsReader.fromBytes(fileWith('{"t":{"dtype":"U8","shape":[18446744073709551615,0],"data_offsets":[0,0]}}')).info('t').shape).toEqual([2 ** 64, 0]);
  });
  it('accepts what serde accepts: the list form of an entry, the map form of a dtype, unknown fields, 1e-400', () => {
    expect(SafetensorsReader.fromBytes(fileWith('{"t":["F32",[1],[0,4]]}', f32)).info('t').dtype).toBe('F32');
    expect(SafetensorsReader.fromBytes(fileWith('{"t":{"dtype":{"F32":null},"shape":[1],"data_offsets":[0,4]}}', f32)).info('t').dtype).toBe('F32');
    expect(SafetensorsReader.fromBytes(fileWith(`{"t":{${T},"extra":[1,{"a":null}],"tiny":1e-400}}`, f32)).names()).toEqual(['t']);
    refused('{"t":["F32",[1],[0,4],1]}', f32, /exactly 3 elements/);
    refused('{"t":["F32",[1]]}', f32, /exactly 3 elements/);
    refused('{"t":{"dtype":{"F32":{}},"shape":[1],"data_offsets":[0,4]}}', f32, /dtype must be/);
    refused(`{"t":{${T},"extra":1e400}}`, f32, /number out of range/);
  });
  it('refuses what serde_json refuses: trailing commas and characters, leading zeros, control characters, bad escapes', () => {
    refused(`{"t":{${T}},}`, f32, /trailing comma/);
    refused(`{"t":{${T}}}\u0000`, f32, /trailing characters/);
    refused('{"t":{"dtype":"F32","shape":[01],"data_offsets":[0,4]}}', f32, /leading zero/);
    refused(`{"t\u0001":{${T}}}`, f32, /control character/);
    refused(`{"a\\x":{${T}}}`, f32, /invalid escape/);
    refused('\f{}', new Uint8Array(0), /not valid JSON/);
  });
  it('nesting: 127 levels parse (skipped as an unknown field), 128 are refused as serde_json refuses them', () => {
    const nested = (levels: number) => `{"t":{${T},"x":${'['.repeat(levels - 2)}${']'.repeat(levels - 2)}}}`;
    expect(SafetensorsReader.fromBytes(fileWith(nested(127), f32)).names()).toEqual(['t']);
    refused(nested(128), f32, /nested deeper than 127 levels/);
  });
  it('names and metadata keys "__proto__" and "constructor" are kept (null-prototype maps)', () => {
    const tensors = Object.create(null) as Record<string, RawTensor>;
    tensors['__proto__'] = { dtype: 'U8', shape: [1], data: Uint8Array.of(7) };
    tensors['constructor'] = { dtype: 'U8', shape: [1], data: Uint8Array.of(8) };
    const r = SafetensorsReader.fromBytes(serialize(tensors));
    expect(r.names().sort()).toEqual(['__proto__', 'constructor']);
    expect(r.read('__proto__').data).toEqual(Uint8Array.of(7));
    const m = SafetensorsReader.fromBytes(fileWith('{"__metadata__":{"__proto__":"x","toString":"y"}}')).metadata!;
    expect(Object.keys(m).sort()).toEqual(['__proto__', 'toString']);
    expect(m['__proto__']).toBe('x');
  });
});

describe('reader: bounded memory and time on hostile headers', () => {
  const T = '"dtype":"U8","shape":[0],"data_offsets":[0,0]';
  it('98 MB of nested [ gives a clear error, at once', () => {
    const h = Buffer.alloc(98_000_000, '[');
    const t0 = performance.now();
    expectCode(() => SafetensorsReader.fromBytes(fileWith(h.toString('latin1'))), 'InvalidHeaderDeserialization', /must be a JSON object, got a JSON array/);
    const h2 = Buffer.concat([Buffer.from('{"t":{"x":'), Buffer.alloc(98_000_000, '[')]).toString('latin1');
    expectCode(() => SafetensorsReader.fromBytes(fileWith(h2)), 'InvalidHeaderDeserialization', /nested deeper than 127 levels/);
    expect(performance.now() - t0).toBeLessThan(30_000); // a guard against hangs on a busy machine; measured 0.4 s alone
  });
  it('a 100,000-deep header gives the depth error, not a stack overflow', () => {
    expectCode(() => SafetensorsReader.fromBytes(fileWith(`{"a":${'{"a":'.repeat(100_000)}null${'}'.repeat(100_000)}}`)), 'InvalidHeaderDeserialization', /nested deeper/);
  });
  it('counts and dimensions are bounded before they are stored (LimitExceeded names the bound)', () => {
    const limits = { ...HEADER_LIMITS, maxTensors: 3, maxMetadataKeys: 2, maxDims: 4 };
    const h = (s: string) => new MemorySource(fileWith(s), 'h.safetensors');
    expect(readHeader(h(`{"a":{${T}},"b":{${T}},"c":{${T}}}`), limits).tensors).toHaveLength(3);
    expect(() => readHeader(h(`{"a":{${T}},"b":{${T}},"c":{${T}},"d":{${T}}}`), limits)).toThrow(/LimitExceeded: more than 3 tensors/);
    expect(readHeader(h(`{"a":{${T}},"a":{${T}},"a":{${T}},"a":{${T}}}`), limits).tensors).toHaveLength(1);
    expect(() => readHeader(h('{"__metadata__":{"a":"","b":"","c":""}}'), limits)).toThrow(/LimitExceeded: __metadata__ has more than 2 keys/);
    expect(() => readHeader(h('{"t":{"dtype":"U8","shape":[1,1,1,1,1],"data_offsets":[0,1]}}'), limits)).toThrow(/LimitExceeded: tensor 't': shape has more than 4 dimensions/);
    expect(HEADER_LIMITS).toEqual({ maxTensors: 1_000_000, maxMetadataKeys: 1_000_000, maxDims: 64, maxDepth: 128 });
  });
  it('1.7 M tensors are counted and refused before any is built', () => {
    const parts: string[] = [];
    for (let i = 0; i < 1_700_000; i++) parts.push(`"${i.toString(36)}":{${T}}`);
    const h = `{${parts.join(',')}}`;
    parts.length = 0;
    const t0 = performance.now();
    expectCode(() => SafetensorsReader.fromBytes(fileWith(h)), 'LimitExceeded', /more than 1,000,000 tensors/);
    expect(performance.now() - t0).toBeLessThan(30_000);
    // a smaller limit exercises the counting pass on a small header: 16 characters per entry or more
    const limits = { ...HEADER_LIMITS, maxTensors: 2 };
    const src = (s: string) => new MemorySource(fileWith(s), 'h.safetensors');
    expect(() => readHeader(src(`{"a":{${T}},"b":{${T}},"c":{${T}}}`), limits)).toThrow(/LimitExceeded: more than 2 tensors/);
    expect(readHeader(src(`{"__metadata__":{},"a":{${T}},"b":{${T}}}`), limits).tensors).toHaveLength(2);
  });
  it('a 33-million-dimension shape is refused at its 65th dimension, quickly', () => {
    const h = `{"t":{"dtype":"U8","data_offsets":[0,1],"shape":[${'1,'.repeat(33_000_000)}1]}}`;
    const t0 = performance.now();
    expectCode(() => SafetensorsReader.fromBytes(fileWith(h, new Uint8Array(1))), 'LimitExceeded', /more than 64 dimensions/);
    expect(performance.now() - t0).toBeLessThan(30_000); // measured 0.7 s alone
  });
  it('6.7 M metadata keys are refused after a million, in seconds and without gigabytes', () => {
    const parts: string[] = [];
    for (let i = 0; i < 6_700_000; i++) parts.push(`"${i.toString(36)}":""`);
    const h = `{"__metadata__":{${parts.join(',')}}}`;
    parts.length = 0;
    const t0 = performance.now();
    const rss0 = process.memoryUsage().rss;
    expectCode(() => SafetensorsReader.fromBytes(fileWith(h)), 'LimitExceeded', /more than 1,000,000 keys/);
    expect(performance.now() - t0).toBeLessThan(30_000);
    expect(process.memoryUsage().rss - rss0).toBeLessThan(1.5e9);
  });
  // the old width, Math.max(...rows), overflowed the stack from about 125,000 rows (the depth varies by caller)
  it('a valid file with 250,000 tensors reads, and inspect lays out its table', () => {
    const parts: string[] = [];
    for (let i = 0; i < 250_000; i++) parts.push(`"t${i}":{${T}}`);
    const r = SafetensorsReader.fromBytes(fileWith(`{${parts.join(',')}}`));
    expect(r.tensors).toHaveLength(250_000);
    const rows = r.tensors.map((t) => [t.name, t.dtype, `[${t.shape.join(', ')}]`, '0']);
    const lines = table(['tensor', 'dtype', 'shape', 'bytes'], rows).split('\n');
    expect(lines).toHaveLength(250_002);
    expect(lines[1]).toBe(`${'-'.repeat(7)}  -----  -----  -----`);
  });
});

describe('opening files: only regular files, never a hang', () => {
  it('a FIFO is refused at once with a message, not waited on', () => {
    const dir = tmp();
    const fifo = join(dir, 'pipe.safetensors');
    execFileSync('mkfifo', [fifo]);
    const t0 = performance.now();
    expectCode(() => SafetensorsReader.open(fifo), 'IoError', /pipe\.safetensors: IoError: is a FIFO \(named pipe\), not a regular file/);
    expect(performance.now() - t0).toBeLessThan(10_000); // a blocking open would never return
    expectCode(() => SafetensorsReader.open(dir), 'IoError', /is a directory/);
  });
  it('a file that is not safetensors says so, and why, keeping the code', () => {
    const dir = tmp();
    const p = join(dir, 'x.bin');
    writeFileSync(p, Buffer.concat([Buffer.from('PK\u0003\u0004 this is a zip'), Buffer.alloc(1200)]));
    expectCode(
      () => SafetensorsReader.open(p),
      'HeaderTooLarge',
      /^.*x\.bin is not a safetensors file: its first 8 bytes, read as the header length, give 7\.6e18 bytes, more than the file's 1,218 bytes \(a safetensors file starts with an 8-byte little-endian header length, then a JSON header\)$/,
    );
    expectCode(() => SafetensorsReader.fromBytes(new Uint8Array(3), 'e'), 'HeaderTooSmall', /^e is not a safetensors file: it is 3 bytes/);
  });
});
