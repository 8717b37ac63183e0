// The float32 sum and mean against results PyTorch computed (test/fixtures/torch_mean.json, written by
// test/bench/torchMean.test.ts with torch 1.13 on the CPU): runs without torch.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { doubleQuantize, f32Bits, meanF32, torchMeanF32, torchSumF32 } from 'loralab/quant';
import { absmaxVectors } from '../helpers/absmaxVectors.js';

interface Case {
  threads: number;
  seed: number;
  lengths: number[];
  lanes: 8 | 16;
  bits: [number, number][];
}
const fixture = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'torch_mean.json'), 'utf8')) as { cases: Case[] };

describe("torchSumF32 / torchMeanF32: PyTorch's CPU float32 reduction", () => {
  it('reproduces every committed torch.sum and torch.mean, with 1 and 2 threads', () => {
    expect(fixture.cases.map((c) => c.threads)).toEqual([1, 2]);
    for (const c of fixture.cases) {
      const xs = absmaxVectors(c.lengths, c.seed);
      const got = xs.map((x) => [f32Bits(torchSumF32(x, { lanes: c.lanes, threads: c.threads })), f32Bits(torchMeanF32(x, { lanes: c.lanes, threads: c.threads }))]);
      expect(got).toEqual(c.bits);
    }
  });

  it("double quantization's nested_offset is torch's mean (one thread, 8 lanes)", () => {
    const c = fixture.cases.find((k) => k.threads === 1)!;
    const xs = absmaxVectors(c.lengths, c.seed);
    let differsFromFloat64 = 0;
    xs.forEach((x, i) => {
      expect(f32Bits(meanF32(x))).toBe(c.bits[i][1]);
      if (x.length <= 4096) expect(f32Bits(doubleQuantize(x).state.offset)).toBe(c.bits[i][1]);
      let s = 0;
      for (const v of x) s += v;
      if (f32Bits(Math.fround(s / x.length)) !== c.bits[i][1]) differsFromFloat64++;
    });
    expect(differsFromFloat64).toBeGreaterThan(0);
  });

  it('property: a float32 result within n·2^-24 of the exact sum, and exact for small integers', () => {
    fc.assert(
      fc.property(fc.array(fc.float({ min: 0, max: 1e6, noNaN: true }), { maxLength: 600 }), fc.constantFrom<8 | 16>(8, 16), (vals, lanes) => {
        const x = Float32Array.from(vals);
        let exact = 0;
        for (const v of x) exact += v;
        const s = torchSumF32(x, { lanes });
        expect(Math.fround(s)).toBe(s);
        expect(Math.abs(s - exact)).toBeLessThanOrEqual(x.length * 2 ** -23 * exact + 1e-30);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 2000 }), (vals) => {
        expect(torchSumF32(Float32Array.from(vals))).toBe(vals.reduce((a, b) => a + b, 0));
      }),
      { numRuns: 100 },
    );
  });
});
