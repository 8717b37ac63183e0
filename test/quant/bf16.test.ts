import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BF16_NAN, bf16ToF32, f32Bits, f32FromBits, f32ToBf16, fromBf16, roundToBf16, toBf16, f16ToF32, f32ToF16, fromF16, toF16 } from 'loralab/quant';

describe('bf16 conversion (round to nearest even)', () => {
  it('matches hand-checked bit patterns', () => {
    const cases: [number, number][] = [
      [0x3f800000, 0x3f80], // 1.0
      [0x3f808000, 0x3f80], // 1 + 2^-8: exactly halfway, mantissa even -> stays
      [0x3f818000, 0x3f82], // halfway with odd low bit -> rounds up to even
      [0x3f808001, 0x3f81], // just above halfway -> up
      [0x3f807fff, 0x3f80], // just below halfway -> down
      [0x40490fdb, 0x4049], // pi -> 3.140625
      [0x7f7fffff, 0x7f80], // FLT_MAX rounds to +Inf
      [0x7f800000, 0x7f80], // +Inf
      [0xff800000, 0xff80], // -Inf
      [0x80000000, 0x8000], // -0 keeps its sign
      [0x00000000, 0x0000],
      [0x00000001, 0x0000], // smallest subnormal rounds to 0
      [0x00008000, 0x0000], // halfway, even -> 0
      [0x00018000, 0x0002], // halfway, odd -> up
      [0xbf7fffff, 0xbf80], // -0.99999994 -> -1
    ];
    for (const [bits, want] of cases) expect(f32ToBf16(f32FromBits(bits)), bits.toString(16)).toBe(want);
  });

  it('sends every NaN to the canonical quiet NaN 0x7FC0, like PyTorch', () => {
    for (const bits of [0x7fc00000, 0x7f800001, 0xffc00000, 0x7fffffff, 0xff812345]) {
      expect(f32ToBf16(f32FromBits(bits))).toBe(BF16_NAN);
      expect(toBf16(Float32Array.of(f32FromBits(bits)))[0]).toBe(BF16_NAN);
    }
  });

  it('round-trips all 65536 bf16 values exactly (NaNs stay NaN)', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const values = fromBf16(all);
    const back = toBf16(values);
    for (let b = 0; b < 65536; b++) {
      const isNaN = (b & 0x7f80) === 0x7f80 && (b & 0x7f) !== 0;
      if (isNaN) {
        expect(Number.isNaN(values[b])).toBe(true);
        expect(back[b]).toBe(BF16_NAN);
      } else {
        expect(back[b]).toBe(b);
        expect(f32ToBf16(bf16ToF32(b))).toBe(b);
      }
    }
  });

  it('rounds every midpoint between neighbouring bf16 values to the even one (exhaustive)', () => {
    for (let b = 0; b < 0xffff; b++) {
      if ((b & 0x7f80) === 0x7f80 || b === 0x7fff) continue; // Inf/NaN have no upper neighbour
      if (b === 0x7fff || b === 0xffff) continue;
      const mid = f32FromBits(((b << 16) | 0x8000) >>> 0);
      const want = b & 1 ? b + 1 : b;
      expect(f32ToBf16(mid)).toBe(want & 0xffff);
      expect(f32ToBf16(f32FromBits(((b << 16) | 0x8001) >>> 0))).toBe((b + 1) & 0xffff);
      expect(f32ToBf16(f32FromBits(((b << 16) | 0x7fff) >>> 0))).toBe(b);
    }
  });

  it('property: the result is a nearest bf16 value, and array and scalar paths agree', () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true, noDefaultInfinity: true }), (x) => {
        const xf = Math.fround(x);
        const r = bf16ToF32(f32ToBf16(xf));
        if (!Number.isFinite(r)) return Math.abs(xf) >= 3.3895313892515355e38; // rounds past bf16 max
        const b = f32ToBf16(xf);
        // neighbours of r in bf16
        for (const nb of [(b + 1) & 0xffff, (b - 1) & 0xffff]) {
          const v = bf16ToF32(nb);
          if (Number.isFinite(v) && Math.abs(v - xf) < Math.abs(r - xf)) return false;
        }
        return roundToBf16(Float32Array.of(xf))[0] === r || (r === 0 && Object.is(roundToBf16(Float32Array.of(xf))[0], r));
      }),
      { numRuns: 20000 },
    );
  });

  it('roundToBf16 keeps float32 storage with bf16 values; inPlace overwrites', () => {
    const x = Float32Array.of(1.00390625, Math.PI, -0, Infinity);
    const r = roundToBf16(x);
    expect(Array.from(r)).toEqual([1, 3.140625, -0, Infinity]);
    expect(x[1]).toBe(Math.fround(Math.PI));
    roundToBf16(x, { inPlace: true });
    expect(x[1]).toBe(3.140625);
    expect(f32Bits(r[2])).toBe(0x80000000);
  });
});

describe('float16 conversion', () => {
  it('round-trips all 65536 binary16 values', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const back = toF16(fromF16(all));
    for (let h = 0; h < 65536; h++) {
      const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      if (isNaN) expect(Number.isNaN(f16ToF32(h))).toBe(true);
      else expect(back[h]).toBe(h);
    }
  });
  it('rounds to nearest even, including into subnormals and to Inf', () => {
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00); // halfway, even stays
    expect(f32ToF16(1 + 3 * 2 ** -11)).toBe(0x3c02); // halfway, odd rounds up
    expect(f32ToF16(65504)).toBe(0x7bff);
    expect(f32ToF16(65520)).toBe(0x7c00); // halfway to 2^16 rounds up to Inf
    expect(f32ToF16(2 ** -24)).toBe(0x0001);
    expect(f32ToF16(2 ** -25)).toBe(0x0000); // halfway to the smallest subnormal, even -> 0
    expect(f32ToF16(3 * 2 ** -25)).toBe(0x0002);
    expect(f32ToF16(-0)).toBe(0x8000);
    expect(f32ToF16(0.1)).toBe(0x2e66);
  });
});
