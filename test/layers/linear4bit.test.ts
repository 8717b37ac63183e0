// Linear4bit computes piece by piece (row chunks of its dequantized weight): the same forward values and input
// gradient as with the whole weight at once, and chunks that always start on a quantization block.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs';
import { dequantizeToTensor, initBackend, rowChunks } from 'loralab/backend';
import { Linear4bit } from 'loralab/layers';
import { Rng } from '../../lib/src/util/rng.js';

beforeAll(async () => {
  await initBackend({ log: false });
});
const defaultMax = Linear4bit.maxDenseElements;
afterEach(() => {
  Linear4bit.maxDenseElements = defaultMax;
});

describe('rowChunks', () => {
  it('covers every row once, each chunk on a block boundary and within the size limit (property)', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 1, max: 3000 }), fc.constantFrom(32, 64, 128, 4096), fc.integer({ min: 1, max: 1 << 20 }),
      (outF, inF, bs, max) => {
        const chunks = rowChunks(outF, inF, bs, max);
        // the fewest rows whose values fill whole blocks (and whole bytes)
        let unit = 1;
        while ((unit * inF) % bs !== 0 || (unit * inF) % 2 !== 0) unit++;
        const limit = Math.max(unit, Math.floor(max / inF / unit) * unit);
        expect(chunks[0][0]).toBe(0);
        expect(chunks.at(-1)![1]).toBe(outF);
        for (let k = 0; k < chunks.length; k++) {
          const [a, b] = chunks[k];
          expect(b).toBeGreaterThan(a);
          if (k) expect(a).toBe(chunks[k - 1][1]);
          expect((a * inF) % bs).toBe(0);
          expect(b - a).toBeLessThanOrEqual(limit);
          if (k < chunks.length - 1) expect(b - a).toBe(limit);
        }
      },
    ), { numRuns: 200 });
  });
});

describe('Linear4bit in row chunks', () => {
  const OUT = 48, IN = 40; // blocksize 64: chunks of 8 rows (320 values) start on a block
  const x = () => tf.tensor(new Rng(2).normalArray(2 * 3 * IN), [2, 3, IN]);
  const R = () => tf.tensor(new Rng(5).normalArray(2 * 3 * OUT), [2, 3, OUT]);
  for (const computeDtype of ['float32', 'bfloat16'] as const) {
    it(`forward and dL/dx match the one-piece computation (${computeDtype}, 6 chunks)`, () => {
      const q = Linear4bit.fromWeight(new Rng(1).normalArray(OUT * IN, 0.2), OUT, IN, { quantType: 'nf4', doubleQuant: true, computeDtype });
      const run = () => {
        const x0 = x();
        const xv = tf.variable(x0);
        const r = R();
        const { value, grads } = tf.variableGrads(() => tf.sum(q.forward(xv).mul(r)), [xv]);
        const y = tf.tidy(() => q.forward(xv).dataSync());
        const out = { y: Array.from(y), g: Array.from(grads[xv.name].dataSync()), loss: value.dataSync()[0] };
        tf.dispose([x0, xv, r, value, grads[xv.name]]);
        return out;
      };
      const whole = run();
      Linear4bit.maxDenseElements = 8 * IN;
      expect(8 * IN * 6).toBe(OUT * IN);
      const before = tf.memory().numTensors;
      const pieces = run();
      expect(tf.memory().numTensors).toBe(before);
      expect(pieces.y).toEqual(whole.y); // each output sums over the same inputs in the same order
      for (let i = 0; i < whole.g.length; i++) expect(pieces.g[i]).toBeCloseTo(whole.g[i], 5);
      expect(pieces.loss).toBeCloseTo(whole.loss, 4);
    });
  }
  it('refuses a row range that does not start on a block', () => {
    const q = Linear4bit.fromWeight(new Rng(1).normalArray(OUT * IN, 0.2), OUT, IN, { blocksize: 64 });
    expect(() => dequantizeToTensor(q.state, 'float32', [3, 10])).toThrow(/do not start on a block boundary/);
  });
});
