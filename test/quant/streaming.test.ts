// Quantizing a tensor read piece by piece (what the loader does with a checkpoint) gives quantize4bit's state bit for
// bit, whatever the piece size, blocksize, length or double quantization; and reports a non-finite value by its index.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BLOCKSIZES, QuantizationError, quantize4bit, quantize4bitStreaming } from 'loralab/quant';
import { Rng } from '../../lib/src/util/rng.js';

const hex = (b: ArrayBufferView) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

describe('quantize4bitStreaming', () => {
  it('equals quantize4bit on the whole array (property)', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 20000 }), fc.constantFrom(...BLOCKSIZES), fc.integer({ min: 1, max: 8 }), fc.constantFrom('nf4', 'fp4'), fc.boolean(), fc.integer({ min: 0, max: 1e6 }),
      (n, blocksize, blocksPerPiece, quantType, doubleQuant, seed) => {
        const x = new Rng(seed).normalArray(n, 0.3);
        const reads: [number, number][] = [];
        const got = quantize4bitStreaming(n, (s, e) => { reads.push([s, e]); return x.slice(s, e); }, { quantType, blocksize, doubleQuant, piece: blocksPerPiece * blocksize });
        const { state: want } = quantize4bit(x, { quantType, blocksize, doubleQuant });
        expect(reads.length).toBe(Math.ceil(n / (blocksPerPiece * blocksize)));
        expect(hex(got.packed)).toBe(hex(want.packed));
        if (doubleQuant) {
          expect(hex(got.doubleQuant!.qabsmax)).toBe(hex(want.doubleQuant!.qabsmax));
          expect(hex(got.doubleQuant!.nestedAbsmax)).toBe(hex(want.doubleQuant!.nestedAbsmax));
          expect(got.doubleQuant!.offset).toBe(want.doubleQuant!.offset);
        } else {
          expect(hex(got.absmax!)).toBe(hex(want.absmax!));
        }
      },
    ), { numRuns: 80 });
  });
  it('names the element that is not finite, and refuses a piece that is not whole blocks', () => {
    const x = new Float32Array(300).fill(0.5);
    x[257] = NaN;
    expect(() => quantize4bitStreaming(300, (s, e) => x.slice(s, e), { piece: 64 })).toThrow(/non-finite value \(NaN\) at element 257/);
    expect(() => quantize4bitStreaming(300, (s, e) => x.slice(s, e), { piece: 100 })).toThrow(QuantizationError);
    expect(() => quantize4bitStreaming(300, () => new Float32Array(3))).toThrow(/returned 3 values, expected 300/);
  });
});
