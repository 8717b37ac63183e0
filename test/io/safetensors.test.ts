import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DTYPES, DTYPE_BITS, SafetensorsError, SafetensorsReader, SafetensorsWriter, serialize, typedView, writeSafetensors, type Dtype, type RawTensor } from 'loralab/io';
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
