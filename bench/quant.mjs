// NF4 quantize and dequantize throughput (elements/s) next to a plain Float32Array copy of the same size, in the same
// process and the same run: the copy is the memory-bandwidth ceiling, so the ratio is what matters.
import { dequantizePacked, quantize4bit, NF4_CODE } from '../lib/dist/quant/index.js';
import { Rng } from '../lib/dist/util/rng.js';

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median seconds of `reps` timed runs after one warm-up. */
function time(fn, reps) {
  fn();
  const ts = [];
  for (let i = 0; i < reps; i++) {
    globalThis.gc?.();
    const t0 = process.hrtime.bigint();
    fn();
    ts.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return median(ts);
}

export async function run({ n = 2048 * 8192, reps = 7 } = {}) {
  const x = new Rng(0).normalArray(n, 0.02);
  const copyDst = new Float32Array(n);
  const out = new Float32Array(n);
  const { state } = quantize4bit(x, { quantType: 'nf4', blocksize: 64 });
  const copy = time(() => copyDst.set(x), reps);
  const dequant = time(() => dequantizePacked(state.packed, state.absmax, NF4_CODE, 64, n, out), reps);
  const quant = time(() => quantize4bit(x, { quantType: 'nf4', blocksize: 64 }), Math.max(3, reps >> 1));
  const quantDq = time(() => quantize4bit(x, { quantType: 'nf4', blocksize: 64, doubleQuant: true }), Math.max(3, reps >> 1));
  const rate = (s) => n / s;
  return {
    name: 'quant',
    what: 'NF4 (blocksize 64) quantize/dequantize throughput vs Float32Array.prototype.set of the same number of elements',
    elements: n,
    elementsPerSecond: {
      float32Copy: rate(copy),
      nf4Dequantize: rate(dequant),
      nf4Quantize: rate(quant),
      nf4QuantizeDoubleQuant: rate(quantDq),
    },
    ratiosToCopy: {
      nf4Dequantize: rate(dequant) / rate(copy),
      nf4Quantize: rate(quant) / rate(copy),
      nf4QuantizeDoubleQuant: rate(quantDq) / rate(copy),
    },
    seconds: { float32Copy: copy, nf4Dequantize: dequant, nf4Quantize: quant, nf4QuantizeDoubleQuant: quantDq },
  };
}
