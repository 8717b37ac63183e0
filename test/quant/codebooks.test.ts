import { describe, expect, it } from 'vitest';
import { dequantize4bit, quantize4bit, createDynamicMap, createNormalMap, DYNAMIC_MAP, FP4_CODE, FP4_SORT_ORDER, NF4_CODE, linspaceF32, midpoints, normPpf, quantBounds, f32Bits } from 'loralab/quant';
import dynamicMapJson from '../fixtures/dynamic_map.json' with { type: 'json' };

describe('NF4 codebook', () => {
  it('is derived exactly from normal quantiles (create_normal_map)', () => {
    const { code } = createNormalMap();
    expect(Array.from(code)).toEqual(Array.from(NF4_CODE));
  });
  it('is sorted with an exact zero at code 7, 7 negative and 8 positive values', () => {
    expect(NF4_CODE[7]).toBe(0);
    expect(Array.from(NF4_CODE).filter((v) => v < 0)).toHaveLength(7);
    expect(Array.from(NF4_CODE).filter((v) => v > 0)).toHaveLength(8);
    for (let i = 1; i < 16; i++) expect(NF4_CODE[i]).toBeGreaterThan(NF4_CODE[i - 1]);
  });
  it("midpoints are bit-identical to the CUDA kernel's dQuantizeNF4 thresholds", () => {
    const cuda = [
      -0.8480964004993439, -0.6106329262256622, -0.4599952697753906, -0.33967943489551544, -0.23460740596055984,
      -0.13791173323988914, -0.045525018125772476, 0.03979014977812767, 0.1202552504837513, 0.2035212516784668,
      0.2920137718319893, 0.3893125355243683, 0.5016634166240692, 0.6427869200706482, 0.8614784181118011,
    ];
    const m = midpoints(NF4_CODE);
    expect(m).toHaveLength(15);
    for (let i = 0; i < 15; i++) expect(f32Bits(m[i])).toBe(f32Bits(cuda[i]));
  });
});

describe('FP4 codebook', () => {
  it('is the e2m1 table divided by 12', () => {
    const want = [0, 0.0052083335, 0.6666667, 1.0, 0.33333334, 0.5, 0.16666667, 0.25, 0, -0.0052083335, -0.6666667, -1.0, -0.33333334, -0.5, -0.16666667, -0.25];
    for (let i = 0; i < 16; i++) expect(FP4_CODE[i]).toBe(Math.fround(want[i]));
  });
  it("writes +0.0 at code 8, as bitsandbytes' table does (its `-0` is a Python integer)", () => {
    expect(Object.is(FP4_CODE[8], 0)).toBe(true);
    // the bytes of quant_map entry 8 are those of +0.0, and a small positive weight dequantizes to +0.0
    expect(Array.from(new Uint8Array(FP4_CODE.buffer, 32, 4))).toEqual([0, 0, 0, 0]);
    const { state } = quantize4bit(Float32Array.from([1, 0.001, -0.001, 0]), { quantType: 'fp4', blocksize: 32 });
    expect([state.packed[0] & 0xf, state.packed[1] >> 4, state.packed[1] & 0xf]).toEqual([8, 0, 0]);
    const back = dequantize4bit(state, { dtype: 'float32' });
    expect(Object.is(back[1], 0)).toBe(true);
    expect(Object.is(back[2], 0)).toBe(true);
  });
  it('sort order lists codes by ascending value (+0 before -0, as torch.argsort gave)', () => {
    expect(Array.from(FP4_SORT_ORDER)).toEqual([11, 10, 13, 12, 15, 14, 9, 0, 8, 1, 6, 7, 4, 5, 2, 3]);
    for (let i = 1; i < 16; i++) expect(FP4_CODE[FP4_SORT_ORDER[i]]).toBeGreaterThanOrEqual(FP4_CODE[FP4_SORT_ORDER[i - 1]]);
    const { bounds } = quantBounds('fp4');
    expect(bounds).toHaveLength(15);
    expect(bounds[7]).toBe(0); // between +0 and -0
  });
});

describe('dynamic 8-bit map (double quantization)', () => {
  it('equals the table PyTorch computes for bitsandbytes', () => {
    expect(dynamicMapJson).toHaveLength(256);
    for (let i = 0; i < 256; i++) expect(DYNAMIC_MAP[i]).toBe(Math.fround(dynamicMapJson[i]));
    expect(DYNAMIC_MAP[0]).toBe(Math.fround(-0.99296875));
    expect(DYNAMIC_MAP[127]).toBe(0);
    expect(DYNAMIC_MAP[255]).toBe(1);
    const first8 = [-0.99296875, -0.97890627, -0.96484375, -0.95078123, -0.93671876, -0.92265624, -0.90859377, -0.89453125];
    // The notes print these rounded to 8 digits (one of them from a computation one ulp away): agree to 1e-7.
    first8.forEach((v, i) => expect(Math.abs(DYNAMIC_MAP[i] - v)).toBeLessThan(1e-7));
  });
  it('createDynamicMap derives it to within two float32 ulps at every entry', () => {
    const d = createDynamicMap();
    expect(d).toHaveLength(256);
    let exact = 0;
    for (let i = 0; i < 256; i++) {
      const ulps = Math.abs(f32Bits(d[i]) - f32Bits(DYNAMIC_MAP[i]));
      expect(ulps, `entry ${i}`).toBeLessThanOrEqual(2);
      if (ulps === 0) exact++;
    }
    expect(exact).toBeGreaterThanOrEqual(200); // 212 of 256 today
    // smallest magnitudes ±5.5e-7, then ±3.25e-6
    expect(d[128]).toBeCloseTo(5.5e-7, 12);
    expect(d[129]).toBeCloseTo(3.25e-6, 11);
  });
});

describe('helpers', () => {
  it('normPpf matches known quantiles', () => {
    expect(normPpf(0.5)).toBe(0);
    expect(normPpf(0.975)).toBeCloseTo(1.959963984540054, 14);
    expect(normPpf(0.025)).toBeCloseTo(-1.959963984540054, 14);
    expect(normPpf(1e-10)).toBeCloseTo(-6.361340902404056, 12);
    expect(normPpf(0.9677083)).toBeCloseTo(1.8481, 3);
  });
  it('linspaceF32 makes both ends exact', () => {
    const l = linspaceF32(0.1, 1, 65);
    expect(l[0]).toBe(Math.fround(0.1));
    expect(l[64]).toBe(1);
    expect(l).toHaveLength(65);
  });
});
