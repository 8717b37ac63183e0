import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PyFloat, pyFloatRepr, pyJsonDumps, SafetensorsReader, serialize, writeSafetensors, type RawTensor } from 'loralab/io';
import { BnbFormatError, DYNAMIC_MAP, NF4_CODE, dequantize4bit, dequantizeFile, findQuantizedParams, packQuantState, quantStateJson, quantizeFile, quantizeNF4, quantizeFP4, unpackQuantState } from 'loralab/quant';
import { Rng } from '../../lib/src/util/rng.js';

describe("Python's json.dumps / repr(float)", () => {
  it('prints floats as Python does', () => {
    const cases: [number, string][] = [
      [2.5, '2.5'], [3, '3.0'], [0.1, '0.1'], [1e-5, '1e-05'], [0.0001, '0.0001'], [1.5e-7, '1.5e-07'], [1e16, '1e+16'],
      [1e15, '1000000000000000.0'], [123456789012345678, '1.2345678901234568e+17'], [-0.0123, '-0.0123'], [0, '0.0'],
      [-0, '-0.0'], [Math.fround(0.1), '0.10000000149011612'], [Math.fround(0.05196), '0.05195999890565872'], [1e300, '1e+300'],
      [5e-324, '5e-324'], [NaN, 'NaN'], [Infinity, 'Infinity'], [123.456, '123.456'], [0.00012345, '0.00012345'],
    ];
    for (const [x, want] of cases) expect(pyFloatRepr(x), String(x)).toBe(want);
  });
  it('uses ", " and ": " separators and prints ints as ints', () => {
    expect(pyJsonDumps({ a: 1, b: [2, 3], c: new PyFloat(2), d: 'x"y', e: 'é' })).toBe('{"a": 1, "b": [2, 3], "c": 2.0, "d": "x\\"y", "e": "\\u00e9"}');
  });
});

describe("bitsandbytes' serialized quant state", () => {
  const w = new Rng(1).normalArray(2048 * 2048, 0.02);
  it('JSON without nesting, byte for byte', () => {
    const { state } = quantizeNF4(w.subarray(0, 64 * 8), { shape: [8, 64], dtype: 'bfloat16' });
    expect(quantStateJson(state)).toBe('{"quant_type": "nf4", "blocksize": 64, "dtype": "bfloat16", "shape": [8, 64]}');
  });
  it('JSON with nesting: nested_blocksize, nested_dtype and the offset as a Python float', () => {
    const { state } = quantizeNF4(w, { shape: [2048, 2048], dtype: 'bfloat16', doubleQuant: true });
    const off = state.doubleQuant!.offset;
    expect(quantStateJson(state)).toBe(
      `{"quant_type": "nf4", "blocksize": 64, "dtype": "bfloat16", "shape": [2048, 2048], "nested_blocksize": 256, "nested_dtype": "float32", "nested_offset": ${pyFloatRepr(off)}}`,
    );
    expect(Math.fround(Number(pyFloatRepr(off)))).toBe(off);
  });
  it('state-dict keys, dtypes and shapes for a Gemma q_proj with double quantization', () => {
    const { state } = quantizeNF4(w, { shape: [2048, 2048], dtype: 'bfloat16', doubleQuant: true });
    const p = 'model.layers.0.self_attn.q_proj.weight';
    const sd = packQuantState(p, state);
    const summary = Object.fromEntries(Object.entries(sd).map(([k, v]) => [k.slice(p.length), `${v.dtype}[${v.shape.join(',')}]`]));
    expect(summary).toEqual({
      '': 'U8[2097152,1]',
      '.absmax': 'U8[65536]',
      '.quant_map': 'F32[16]',
      '.nested_absmax': 'F32[256]',
      '.nested_quant_map': 'F32[256]',
      '.quant_state.bitsandbytes__nf4': `U8[${quantStateJson(state).length}]`,
    });
    expect(new Float32Array(sd[`${p}.quant_map`].data.slice().buffer)).toEqual(NF4_CODE);
    expect(new Float32Array(sd[`${p}.nested_quant_map`].data.slice().buffer)).toEqual(DYNAMIC_MAP);
    // in a file: F32 constants first, then the U8 packed weight, codes and JSON
    const r = SafetensorsReader.fromBytes(serialize(sd, { format: 'pt' }));
    expect(r.names().map((n) => n.slice(p.length))).toEqual(['', '.absmax', '.quant_state.bitsandbytes__nf4', '.nested_absmax', '.nested_quant_map', '.quant_map'].sort((a, b) => {
      const rank = (k: string) => (['', '.absmax', '.quant_state.bitsandbytes__nf4'].includes(k) ? 1 : 0);
      return rank(a) - rank(b) || Buffer.compare(Buffer.from(p + a), Buffer.from(p + b));
    }));
  });
  it('round trip through a safetensors file gives the same dequantized weight (plain and nested, NF4 and FP4)', () => {
    const x = w.subarray(0, 4096 + 33);
    for (const state of [quantizeNF4(x).state, quantizeNF4(x, { doubleQuant: true }).state, quantizeFP4(x, { dtype: 'bfloat16', doubleQuant: true }).state]) {
      const r = SafetensorsReader.fromBytes(serialize(packQuantState('w', state)));
      const back = unpackQuantState('w', (k) => (r.has(k) ? r.read(k) : undefined), 'x.safetensors');
      expect(back.quantType).toBe(state.quantType);
      expect(Array.from(dequantize4bit(back))).toEqual(Array.from(dequantize4bit(state)));
      expect(findQuantizedParams(r.names())).toEqual([{ param: 'w', stateKey: `w.quant_state.bitsandbytes__${state.quantType}`, quantType: state.quantType }]);
    }
  });
  it('clear errors for malformed states, naming the file and the key', () => {
    const { state } = quantizeNF4(w.subarray(0, 256), { doubleQuant: true });
    const sd = packQuantState('w', state);
    const get = (over: Record<string, RawTensor | undefined>) => (k: string) => (k in over ? over[k] : sd[k]);
    const json = (s: string): RawTensor => ({ dtype: 'U8', shape: [s.length], data: new TextEncoder().encode(s) });
    const key = 'w.quant_state.bitsandbytes__nf4';
    expect(() => unpackQuantState('w', get({ [key]: undefined }), 'f.safetensors')).toThrow(/f\.safetensors: expected exactly one 'w\.quant_state/);
    expect(() => unpackQuantState('w', get({ [key]: json('{"quant_type": "nf4", "bogus": 1}') }), 'f.safetensors')).toThrow(/unexpected field 'bogus'/);
    expect(() => unpackQuantState('w', get({ [key]: json('{nope') }), 'f.safetensors')).toThrow(BnbFormatError);
    expect(() => unpackQuantState('w', get({ [key]: json('{"quant_type": "nf4", "blocksize": 64, "dtype": "int8", "shape": [256]}') }), 'f.safetensors')).toThrow(/field 'dtype' must be float32 \| bfloat16 \| float16/);
    expect(() => unpackQuantState('w', get({ 'w.nested_absmax': undefined }), 'f.safetensors')).toThrow(/missing tensor 'w\.nested_absmax'/);
    expect(() => unpackQuantState('w', get({ 'w.absmax': { dtype: 'U8', shape: [3], data: new Uint8Array(3) } }), 'f.safetensors')).toThrow(/expected 4 codes, got 3/);
  });
});

describe('4-bit states from files: non-finite constants are refused, names from files are kept', () => {
  const f32 = (v: number[]): RawTensor => ({ dtype: 'F32', shape: [v.length], data: new Uint8Array(Float32Array.from(v).buffer) });
  const plain = quantizeNF4(new Rng(3).normalArray(256, 0.02)).state;
  const nested = quantizeNF4(new Rng(4).normalArray(256, 0.02), { doubleQuant: true }).state;
  const json = (s: string): RawTensor => ({ dtype: 'U8', shape: [s.length], data: new TextEncoder().encode(s) });
  const getter = (sd: Record<string, RawTensor>, over: Record<string, RawTensor>) => (k: string) => (k in over ? over[k] : sd[k]);
  it('a NaN in quant_map names the tensor and says NaN', () => {
    const sd = packQuantState('w', plain);
    const code = Array.from(NF4_CODE);
    code[3] = NaN;
    expect(() => unpackQuantState('w', getter(sd, { 'w.quant_map': f32(code) }), 'f.safetensors')).toThrow(/f\.safetensors: w\.quant_map: the codebook has NaN at index 3/);
  });
  it('an Inf absmax, and a -Inf nested absmax, are refused with the field named', () => {
    const sd = packQuantState('w', plain);
    expect(() => unpackQuantState('w', getter(sd, { 'w.absmax': f32([1, Infinity, 1, 1]) }), 'f.safetensors')).toThrow(/w\.absmax: absmax has Inf at index 1/);
    const sn = packQuantState('w', nested);
    expect(() => unpackQuantState('w', getter(sn, { 'w.nested_absmax': f32([-Infinity]) }), 'f.safetensors')).toThrow(/w\.nested_absmax: nested_absmax has -Inf at index 0/);
  });
  it('nested_offset 1e308 (finite in JSON, Inf as the float32 it is used as) is refused', () => {
    const sn = packQuantState('w', nested);
    const key = 'w.quant_state.bitsandbytes__nf4';
    const text = new TextDecoder().decode(sn[key].data).replace(/"nested_offset": [^}]+/, '"nested_offset": 1e308');
    expect(() => unpackQuantState('w', getter(sn, { [key]: json(text) }), 'f.safetensors')).toThrow(/field 'nested_offset' must be a number finite in float32/);
  });
  it('dequantizeFile refuses values that overflow the output dtype and writes nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'loralab-bnb-'));
    const big = quantizeNF4(Float32Array.from({ length: 128 }, (_, i) => (i % 2 ? 1e5 : -3e4)), { shape: [2, 64] }).state;
    writeSafetensors(join(dir, 'q.safetensors'), packQuantState('w', big));
    expect(() => dequantizeFile(join(dir, 'q.safetensors'), join(dir, 'o.safetensors'), { dtype: 'float16' })).toThrow(/q\.safetensors: w: dequantizing gives -?Inf at element \d+ \(.* in float32, out of float16's range\); nothing was written/);
    expect(readdirSync(dir)).toEqual(['q.safetensors']);
    dequantizeFile(join(dir, 'q.safetensors'), join(dir, 'o.safetensors'), { dtype: 'float32' });
    expect(SafetensorsReader.open(join(dir, 'o.safetensors')).names()).toEqual(['w']);
  });
  it('a tensor named "__proto__" is quantized and dequantized, and a metadata key "__proto__" is kept', () => {
    const dir = mkdtempSync(join(tmpdir(), 'loralab-bnb-'));
    const tensors = Object.create(null) as Record<string, RawTensor>;
    tensors['__proto__'] = { dtype: 'F32', shape: [2, 64], data: new Uint8Array(new Rng(5).normalArray(128, 0.02).buffer) };
    tensors['constructor'] = { dtype: 'F32', shape: [3], data: new Uint8Array(12) };
    const meta = Object.create(null) as Record<string, string>;
    meta['__proto__'] = 'kept';
    meta['format'] = 'pt';
    writeSafetensors(join(dir, 'd.safetensors'), tensors, meta);
    const rep = quantizeFile(join(dir, 'd.safetensors'), join(dir, 'q.safetensors'));
    expect(rep.quantized.map((q) => q.name)).toEqual(['__proto__']);
    const q = SafetensorsReader.open(join(dir, 'q.safetensors'));
    expect(q.has('__proto__') && q.has('__proto__.absmax') && q.has('constructor')).toBe(true);
    expect(Object.keys(q.metadata!).sort()).toEqual(['__proto__', 'format']);
    const back = dequantizeFile(join(dir, 'q.safetensors'), join(dir, 'b.safetensors'));
    expect(back.dequantized).toEqual(['__proto__']);
    expect(SafetensorsReader.open(join(dir, 'b.safetensors')).names().sort()).toEqual(['__proto__', 'constructor']);
  });
});
