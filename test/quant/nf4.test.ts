import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  BLOCKSIZES, FP4_CODE, NF4_CODE, QuantizationError, bitsPerParameter, dequantize4bit, dequantizePacked, f32FromBits, f32Bits,
  midpoints, quantize4bit, quantizeFP4, quantizeNF4, recoverAbsmax, roundToBf16, unpackNibbles, DYNAMIC_MAP,
} from 'loralab/quant';
import { Rng } from '../../lib/src/util/rng.js';
import { referenceQuantize4bit } from '../helpers/referenceQuant.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** formats §1.8: A[i] = (i-32)/32 for i < 64, (i-96)/8 after. */
function workedVector(): Float32Array {
  return Float32Array.from({ length: 128 }, (_, i) => (i < 64 ? (i - 32) / 32 : (i - 96) / 8));
}

describe('NF4 known-answer vectors (reference notes §1.8)', () => {
  const codes64 = '0,0,0,0,0,1,1,1,1,1,1,1,1,2,2,2,2,2,3,3,3,3,4,4,4,5,5,5,6,6,6,7,7,7,8,8,9,9,9,10,10,10,11,11,11,12,12,12,12,13,13,13,13,14,14,14,14,14,14,14,15,15,15,15';
  it('codes, absmax and packed bytes of the 128-element vector', () => {
    const { state, trace } = quantizeNF4(workedVector(), { blocksize: 64, trace: true });
    expect(Array.from(state.absmax!)).toEqual([1, 4]);
    expect(Array.from(trace.codes.subarray(0, 64)).join(',')).toBe(codes64);
    expect(Array.from(trace.codes.subarray(64)).join(',')).toBe(codes64);
    expect(hex(state.packed)).toBe('000001111111122222333344455566677788999aaabbbccccddddeeeeeeeffff'.repeat(2));
    expect(state.packed).toHaveLength(64);
  });
  it('double quantization of absmax [1, 4]', () => {
    const { state, trace } = quantizeNF4(workedVector(), { blocksize: 64, doubleQuant: true, trace: true });
    const dq = state.doubleQuant!;
    expect(dq.offset).toBe(2.5);
    expect(Array.from(trace.doubleQuant!.centred)).toEqual([-1.5, 1.5]);
    expect(Array.from(dq.nestedAbsmax)).toEqual([1.5]);
    expect(Array.from(dq.qabsmax)).toEqual([0, 255]);
    expect(Array.from(recoverAbsmax(dq))).toEqual([Math.fround(-0.99296875 * 1.5 + 2.5), 4]);
    expect(recoverAbsmax(dq)[0]).toBeCloseTo(1.0105469, 6);
    expect(state.absmax).toBeNull();
    expect(hex(state.packed)).toBe(hex(quantizeNF4(workedVector(), { blocksize: 64 }).state.packed));
  });
  it('n = 3: [1, -1, 0.5] -> codes 15, 0, 12 and padding code 7, bytes f0 c7', () => {
    const { state, trace } = quantizeNF4(Float32Array.of(1, -1, 0.5), { trace: true });
    expect(Array.from(trace.codes)).toEqual([15, 0, 12]);
    expect(hex(state.packed)).toBe('f0c7');
    expect(Array.from(state.absmax!)).toEqual([1]);
  });
});

describe('NF4 tie rule and edge cases', () => {
  const one = (v: number) => quantizeNF4(Float32Array.of(v, 1), { trace: true }).trace.codes[0];
  it('a value exactly on a midpoint goes to the lower code', () => {
    const mids = midpoints(NF4_CODE);
    expect(one(0.03979015)).toBe(7);
    expect(one(f32FromBits(f32Bits(0.03979015) + 1))).toBe(8);
    for (let i = 0; i < 15; i++) {
      expect(one(mids[i]), `midpoint ${i}`).toBe(i);
      const above = mids[i] > 0 ? f32FromBits(f32Bits(mids[i]) + 1) : f32FromBits(f32Bits(mids[i]) - 1);
      expect(one(above), `just above midpoint ${i}`).toBe(i + 1);
    }
    expect(one(0)).toBe(7);
    expect(one(1)).toBe(15);
    expect(one(-1)).toBe(0);
  });
  it('an all-zero full block stores absmax 0 and code 7; a partial zero block stores 1e-38', () => {
    const { state, trace } = quantizeNF4(new Float32Array(64 + 10), { blocksize: 64, trace: true });
    expect(state.absmax![0]).toBe(0);
    expect(state.absmax![1]).toBe(Math.fround(1e-38));
    expect(trace.codes.every((c) => c === 7)).toBe(true);
    expect(trace.dequantized.every((v) => v === 0)).toBe(true);
  });
  it('the partial last block gets its own absmax', () => {
    const x = Float32Array.from({ length: 70 }, (_, i) => (i < 64 ? 1 : 0.25));
    const { state } = quantizeNF4(x, { blocksize: 64 });
    expect(Array.from(state.absmax!)).toEqual([1, 0.25]);
    expect(dequantize4bit(state)[69]).toBe(0.25);
  });
  it('packs the even element in the high nibble and pads odd lengths (NF4 with 7, FP4 with 0)', () => {
    const x = Float32Array.of(-1, 1, 0.5);
    expect(hex(quantizeNF4(x).state.packed)).toBe('0fc7');
    const fp = quantizeFP4(x, { trace: true });
    expect(Array.from(fp.trace.codes)).toEqual([11, 3, 5]);
    expect(hex(fp.state.packed)).toBe('b350');
  });
  it('records shape and dtype; rejects what it cannot quantize with a clear error', () => {
    const x = new Float32Array(12).fill(0.5);
    expect(quantizeNF4(x, { shape: [3, 4], dtype: 'bfloat16' }).state.shape).toEqual([3, 4]);
    expect(() => quantizeNF4(x, { shape: [5, 4] })).toThrow(/shape \[5, 4\] has 20 elements but the data has 12/);
    expect(() => quantizeNF4(x, { blocksize: 48 })).toThrow(/blocksize must be one of 32, 64/);
    expect(() => quantizeNF4(Float32Array.of(1, NaN))).toThrow(/non-finite value \(NaN\) at element 1/);
    expect(() => quantizeNF4(Float32Array.of(Infinity))).toThrow(QuantizationError);
    expect(() => quantizeNF4(new Float32Array(0))).toThrow(/empty/);
  });
});

describe('FP4', () => {
  it('maps values to their sign-magnitude codes', () => {
    const values = [0.25, 0.5, 1, -1, -0.3333, 0.6667, 0.1667];
    const { trace } = quantizeFP4(Float32Array.from([...values, 1]), { trace: true });
    expect(Array.from(trace.codes.subarray(0, values.length))).toEqual([7, 5, 3, 11, 12, 2, 6]);
  });
  it('follows the reference backend near zero: tiny positives get code 8 (-0), tiny negatives code 0 (+0)', () => {
    const { trace } = quantizeFP4(Float32Array.of(1e-4, -1e-4, 0, 1), { trace: true });
    expect(Array.from(trace.codes.subarray(0, 3))).toEqual([8, 0, 0]);
    expect(Math.abs(trace.dequantized[0])).toBe(0);
  });
});

describe('against an independent naive implementation', () => {
  it('matches codes and absmax on random data for every blocksize and both types', () => {
    const rng = new Rng(7);
    for (const blocksize of BLOCKSIZES) {
      for (const quantType of ['nf4', 'fp4'] as const) {
        const n = blocksize * 3 + 17;
        const x = rng.normalArray(n, 0.05);
        const { trace, state } = quantize4bit(x, { quantType, blocksize, trace: true });
        const ref = referenceQuantize4bit(x, quantType === 'nf4' ? NF4_CODE : FP4_CODE, blocksize);
        expect(Array.from(state.absmax!)).toEqual(ref.absmax);
        expect(Array.from(trace.codes)).toEqual(ref.codes.slice(0, n));
        expect(Array.from(unpackNibbles(state.packed, n + 1))).toEqual(ref.codes);
      }
    }
  });
});

describe('properties', () => {
  const maxHalfGap = (code: Float32Array) => {
    const s = Array.from(code).sort((a, b) => a - b);
    let g = 0;
    for (let i = 1; i < s.length; i++) g = Math.max(g, s[i] - s[i - 1]);
    return g / 2;
  };
  it('|dequant - x| <= (widest codebook gap / 2) * absmax, for any shape and blocksize', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 3 }),
        fc.constantFrom(...BLOCKSIZES),
        fc.constantFrom('nf4' as const, 'fp4' as const),
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.double({ min: 1e-6, max: 1e3, noNaN: true }),
        (shape, blocksize, quantType, seed, scale) => {
          const n = shape.reduce((a, b) => a * b, 1) * 7;
          const x = new Rng(seed).normalArray(n, scale);
          const { state, trace } = quantize4bit(x, { quantType, blocksize, shape: [...shape, 7], trace: true });
          const half = maxHalfGap(state.code);
          for (let i = 0; i < n; i++) {
            const am = state.absmax![Math.floor(i / blocksize)];
            // float32 rounding of x/absmax and of code*absmax adds a few ulps
            if (Math.abs(trace.error[i]) > half * am * (1 + 1e-6) + 1e-6 * am) return false;
          }
          return true;
        },
      ),
      { numRuns: 300 },
    );
  });
  it('dequantize(quantize(x)) is stable: quantizing the dequantized values gives the same codes (no double-quant)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.constantFrom(64, 128), (seed, blocksize) => {
        const x = new Rng(seed).normalArray(blocksize * 4);
        const a = quantizeNF4(x, { blocksize });
        const b = quantizeNF4(dequantize4bit(a.state), { blocksize });
        return hex(a.state.packed) === hex(b.state.packed);
      }),
      { numRuns: 100 },
    );
  });
  it('dequantized values follow the recovery formula with double quantization', () => {
    const x = new Rng(3).normalArray(64 * 300, 0.02);
    const { state, trace } = quantizeNF4(x, { doubleQuant: true, trace: true });
    const dq = state.doubleQuant!;
    expect(dq.nestedAbsmax).toHaveLength(2); // 300 blocks -> 2 blocks of 256
    for (let i = 0; i < 300; i++) {
      const want = Math.fround(Math.fround(DYNAMIC_MAP[dq.qabsmax[i]] * dq.nestedAbsmax[Math.floor(i / 256)]) + dq.offset);
      expect(trace.doubleQuant!.recoveredAbsmax[i]).toBe(want);
    }
    for (let i = 0; i < x.length; i += 97) {
      expect(trace.dequantized[i]).toBe(Math.fround(NF4_CODE[trace.codes[i]] * trace.doubleQuant!.recoveredAbsmax[Math.floor(i / 64)]));
    }
  });
  it('dequantizing to bfloat16 rounds the float32 products', () => {
    const x = new Rng(5).normalArray(256);
    const { state } = quantizeNF4(x, { dtype: 'bfloat16' });
    const f32 = dequantize4bit(state, { dtype: 'float32' });
    expect(Array.from(dequantize4bit(state))).toEqual(Array.from(roundToBf16(f32)));
  });
  it('the generic and odd-blocksize paths of dequantizePacked agree', () => {
    const x = new Rng(9).normalArray(129);
    const { state } = quantizeNF4(x, { blocksize: 64 });
    const fast = dequantizePacked(state.packed, state.absmax!, NF4_CODE, 64, 129);
    const slow = Float32Array.from({ length: 129 }, (_, i) => NF4_CODE[unpackNibbles(state.packed, 129)[i]] * state.absmax![Math.floor(i / 64)]);
    expect(Array.from(fast)).toEqual(Array.from(slow));
  });
});

describe('bits per parameter (QLoRA §3 arithmetic), measured on a 2048 x 2048 matrix', () => {
  const x = new Rng(11).normalArray(2048 * 2048, 0.02);
  it('4.5 bits without double quantization at blocksize 64', () => {
    const b = bitsPerParameter(quantizeNF4(x, { shape: [2048, 2048] }).state);
    expect(b.codes).toBe(4);
    expect(b.constants).toBe(0.5);
    expect(b.total).toBe(4.5);
  });
  it('4.127 bits with double quantization (8/64 + 32/(64*256) + one offset)', () => {
    const b = bitsPerParameter(quantizeNF4(x, { shape: [2048, 2048], doubleQuant: true }).state);
    expect(b.total.toFixed(3)).toBe('4.127');
    expect(b.constants).toBe(8 / 64 + 32 / (64 * 256) + 32 / (2048 * 2048));
    expect(b.totalWithCodebooks).toBeGreaterThan(b.total);
  });
});

describe('the fused (untraced) path equals the step-by-step one', () => {
  const both = (x: Float32Array, quantType: 'nf4' | 'fp4', blocksize = 64) => {
    const a = quantize4bit(x, { quantType, blocksize }).state;
    const b = quantize4bit(x, { quantType, blocksize, trace: true }).state;
    expect(hex(a.packed)).toBe(hex(b.packed));
    expect(Array.from(a.absmax!)).toEqual(Array.from(b.absmax!));
  };
  it('on every midpoint, a few ulps either side, bucket edges and tiny values', () => {
    for (const quantType of ['nf4', 'fp4'] as const) {
      const code = quantType === 'nf4' ? NF4_CODE : FP4_CODE;
      const sorted = Array.from(code).sort((p, q) => p - q);
      const vals: number[] = [1];
      for (const m of midpoints(sorted)) for (let d = -3; d <= 3; d++) vals.push(f32FromBits(f32Bits(m) + d));
      for (let k = 0; k <= 4096; k++) vals.push(-1 + k / 2048, Math.fround(-1 + k / 2048 + 1e-7));
      vals.push(1e-38, -1e-38, 1e-30, -1e-30, 0, -0, 2 ** -30, -(2 ** -30), 0.99999994, -0.99999994);
      const x = Float32Array.from(vals.filter((v) => Math.abs(v) <= 1));
      // one block holding 1.0 keeps the scale exactly 1, so the values are their own scaled values
      const padded = new Float32Array(Math.ceil(x.length / 64) * 64 * 2);
      for (let i = 0, j = 0; i < x.length; i += 63, j += 64) {
        padded[j] = 1;
        padded.set(x.subarray(i, i + 63), j + 1);
      }
      both(padded, quantType);
    }
  });
  it('property: random data, scales, blocksizes and lengths (partial blocks included)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3000 }), fc.constantFrom(...BLOCKSIZES), fc.constantFrom('nf4' as const, 'fp4' as const), fc.integer({ min: 0, max: 2 ** 31 }), fc.double({ min: 1e-30, max: 1e30, noNaN: true }), (n, bs, qt, seed, scale) => {
        both(new Rng(seed).normalArray(n, scale), qt, bs);
      }),
      { numRuns: 300 },
    );
  });
});
