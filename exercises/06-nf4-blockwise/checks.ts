import { NF4_CODE, quantize4bit } from 'loralab/quant';
import type { Exercise } from '../grader/types.js';

type Fn = (x: Float32Array, blocksize: number) => { codes: Uint8Array; absmax: Float32Array };
const reference = (x: Float32Array, blocksize: number) => {
  const { trace } = quantize4bit(x, { quantType: 'nf4', blocksize, trace: true });
  return { codes: trace.codes, absmax: trace.absmax };
};
const mids = Array.from({ length: 15 }, (_, i) => Math.fround((NF4_CODE[i] + NF4_CODE[i + 1]) / 2));

function compare(fn: Fn, x: Float32Array, blocksize: number, t: Parameters<Exercise['checks'][number]['run']>[1], label: string) {
  const got = fn(x, blocksize);
  const want = reference(x, blocksize);
  if (!got || typeof got !== 'object') t.fail(`${label}: expected { codes, absmax }, got ${typeof got}`);
  t.arrayEqual(got.absmax, want.absmax, `${label}: absmax values`, (i) => `block ${i} spans elements ${i * blocksize}..${Math.min(x.length, (i + 1) * blocksize) - 1}`);
  t.arrayEqual(got.codes, want.codes, `${label}: your codes and bitsandbytes'`, (i, g, w) => {
    const s = Math.fround(x[i] / Math.max(want.absmax[Math.floor(i / blocksize)], 1e-38));
    const onMid = mids.indexOf(s);
    return onMid >= 0
      ? `${s} is exactly on the midpoint between codes ${onMid} and ${onMid + 1}; ties go to the lower code (${w}), you gave ${g}`
      : `the scaled value is ${s}; the nearest NF4 level is ${NF4_CODE[w]} (code ${w}), you chose ${NF4_CODE[g] ?? '?'} (code ${g})`;
  });
}

const normal = (n: number, seed: number, t: { rng(s: number): { normal(): number } }) => {
  const r = t.rng(seed);
  return Float32Array.from({ length: n }, () => 0.02 * r.normal());
};

export default {
  title: 'NF4 blockwise quantization',
  exports: ['quantizeNF4Blockwise'],
  forbiddenImports: ['quantize4bit', 'quantize4bitStreaming', 'quantizeNF4', 'quantizeFP4', 'quantizeFile', 'blockAbsmax', 'scaleBlocks', 'assignCodes', 'bucketize', 'midpoints', 'Linear4bit'],
  readNext: 'notebooks/06-qlora.ipynb (every intermediate plotted) and the QLoRA paper, section 3',
  checks: [
    {
      name: 'one hand-made block of 32', points: 2, hint: 'absmax is max |x|; multiply by its float32 reciprocal, then pick the nearest of the 16 levels',
      run: (m, t) => compare(m.quantizeNF4Blockwise as Fn, Float32Array.from({ length: 32 }, (_, i) => [0.5, -1, 0.25, 0, 0.1, -0.3, 0.9, -0.05][i % 8] * (1 - i / 64)), 32, t, 'block [0.5, -1, 0.25, …]'),
    },
    {
      name: 'random normal weights, blocksize 64', points: 3, hint: 'one absmax per 64 consecutive values',
      run: (m, t) => compare(m.quantizeNF4Blockwise as Fn, normal(4096, 1, t), 64, t, '4096 normal weights'),
    },
    {
      name: 'other blocksizes and a partial last block', points: 2, hint: 'the last block has x.length % blocksize values; it still gets its own absmax',
      run: (m, t) => {
        compare(m.quantizeNF4Blockwise as Fn, normal(1000, 2, t), 128, t, '1000 weights, blocksize 128');
        compare(m.quantizeNF4Blockwise as Fn, normal(77, 3, t), 32, t, '77 weights, blocksize 32');
      },
    },
    {
      name: 'an all-zero block', points: 1, hint: 'clamp the divisor at 1e-38 instead of dividing by 0 (0/0 is NaN)',
      run: (m, t) => compare(m.quantizeNF4Blockwise as Fn, Float32Array.from([...new Array(64).fill(0), ...normal(64, 4, t)]), 64, t, 'zeros then weights'),
    },
    {
      name: 'values exactly on the midpoints (the tie rule)', points: 2, hint: 'a value equal to a midpoint goes to the lower code: count midpoints strictly below it',
      run: (m, t) => compare(m.quantizeNF4Blockwise as Fn, Float32Array.from({ length: 32 }, (_, i) => [1, ...mids, -1][i] ?? 0), 32, t, 'the 15 midpoints with absmax 1'),
    },
  ],
} satisfies Exercise;
