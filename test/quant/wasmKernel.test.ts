// The WebAssembly SIMD dequantize kernel against the plain loop, bit for bit; the fused path that writes into TF.js's
// wasm heap; bf16 rounding of tensors; and the committed kernel bytes against their .wat source.
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs';
import {
  BLOCKSIZES, FP4_CODE, NF4_CODE, dequantize4bit, dequantizePackedScalar, dequantizePackedSimd, quantize4bit, roundToBf16,
  wasmSimdAvailable,
} from 'loralab/quant';
import { dequantizeKernelName, dequantizeToTensor, initBackend, nativeKernelsActive, roundTensorToBf16, setNativeKernels } from 'loralab/backend';
import { Rng } from '../../lib/src/util/rng.js';

const bits = (x: Float32Array) => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length));

/** Indices where a and b differ as bit patterns (first few), so a failure says where. */
function differences(a: Float32Array, b: Float32Array): number[] {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  const bad: number[] = [];
  for (let i = 0; i < Math.max(a.length, b.length) && bad.length < 5; i++) if (ua[i] !== ub[i]) bad.push(i);
  return bad;
}

function randomState(n: number, blocksize: number, seed: number) {
  const rng = new Rng(seed);
  const packed = Uint8Array.from({ length: Math.ceil(n / 2) }, () => Math.floor(rng.next() * 256));
  const absmax = Float32Array.from({ length: Math.ceil(n / blocksize) }, () => rng.next() * 10 ** (6 * rng.next() - 4));
  return { packed, absmax };
}

describe('WebAssembly SIMD dequantize kernel', () => {
  it('is available on this Node', () => {
    expect(wasmSimdAvailable()).toBe(true);
  });

  it('gives the plain loop’s bits for any length, blocksize, codebook and dtype (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9000 }),
        fc.constantFrom(...BLOCKSIZES),
        fc.constantFrom(NF4_CODE, FP4_CODE),
        fc.boolean(),
        fc.integer({ min: 0, max: 1e6 }),
        (n, blocksize, code, bf16, seed) => {
          const { packed, absmax } = randomState(n, blocksize, seed);
          const want = dequantizePackedScalar(packed, absmax, code, blocksize, n);
          if (bf16) roundToBf16(want, { inPlace: true });
          const got = dequantizePackedSimd(packed, absmax, code, blocksize, n, undefined, { roundBf16: bf16 });
          expect(got).not.toBeNull();
          expect(differences(got!, want)).toEqual([]);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('crosses its 2^20-element chunks without a seam (odd n, partial last block)', () => {
    const n = (1 << 21) + 4097;
    const { packed, absmax } = randomState(n, 4096, 7);
    const want = roundToBf16(dequantizePackedScalar(packed, absmax, NF4_CODE, 4096, n));
    const got = dequantizePackedSimd(packed, absmax, NF4_CODE, 4096, n, undefined, { roundBf16: true })!;
    expect(differences(got, want)).toEqual([]);
  });

  it('declines an odd blocksize (the caller falls back to the loop)', () => {
    expect(dequantizePackedSimd(new Uint8Array(8), new Float32Array(2), NF4_CODE, 9, 16)).toBeNull();
  });

  it('the committed kernel module matches dequant4bit.wat', () => {
    const r = spawnSync(process.execPath, ['scripts/build-wasm.mjs', '--check'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('dequantize into a TF.js tensor', () => {
  beforeAll(async () => {
    await initBackend({ log: false });
  });

  const x = new Rng(3).normalArray(96 * 130, 0.05);
  for (const doubleQuant of [false, true]) {
    for (const dtype of ['float32', 'bfloat16'] as const) {
      it(`wasm backend writes the weight into its heap: same bits as dequantize4bit, native kernel and wasm SIMD kernel (${dtype}${doubleQuant ? ', double quant' : ''})`, () => {
        expect(tf.getBackend()).toBe('wasm');
        const { state } = quantize4bit(x, { quantType: 'nf4', blocksize: 64, doubleQuant, shape: [96, 130], dtype: 'bfloat16' });
        const native = nativeKernelsActive();
        const kernels: string[] = [];
        try {
          for (const on of native ? [true, false] : [false]) {
            setNativeKernels(on);
            kernels.push(dequantizeKernelName());
            const before = tf.memory().numTensors;
            const t = dequantizeToTensor(state, dtype);
            expect(t.shape).toEqual([96, 130]);
            expect(differences(t.dataSync() as Float32Array, dequantize4bit(state, { dtype }))).toEqual([]);
            t.dispose();
            expect(tf.memory().numTensors).toBe(before);
          }
        } finally {
          setNativeKernels(native);
        }
        expect(kernels).toEqual(native ? ['native', 'wasm-fused'] : ['wasm-fused']);
      });
    }
  }

  it('an odd element count sets the last value too', () => {
    const y = new Rng(4).normalArray(7 * 9, 1);
    const { state } = quantize4bit(y, { quantType: 'fp4', blocksize: 32, shape: [7, 9], dtype: 'bfloat16' });
    const t = dequantizeToTensor(state, 'bfloat16');
    expect(differences(t.dataSync() as Float32Array, dequantize4bit(state))).toEqual([]);
    t.dispose();
  });

  it('the cpu backend takes the copy path and gives the same bits', async () => {
    const { state } = quantize4bit(x, { quantType: 'nf4', blocksize: 64, shape: [96, 130], dtype: 'bfloat16' });
    const onWasm = dequantizeToTensor(state, 'bfloat16');
    const want = onWasm.dataSync() as Float32Array;
    onWasm.dispose();
    await tf.setBackend('cpu');
    try {
      expect(dequantizeKernelName()).toBe('cpu-copy');
      const t = dequantizeToTensor(state, 'bfloat16');
      expect(differences(t.dataSync() as Float32Array, want)).toEqual([]);
      t.dispose();
    } finally {
      await tf.setBackend('wasm');
    }
  });

  it('roundTensorToBf16 in the heap matches roundToBf16: ties to even, NaN, ±Inf, tails of 1–3', () => {
    const special = [1 + 2 ** -8, 1 + 3 * 2 ** -8, -(1 + 2 ** -8), NaN, Infinity, -Infinity, 0, -0, 3.4e38, 1e-40, 1 / 3];
    const v = Float32Array.from([...new Rng(5).normalArray(17, 3), ...special]);
    const t = tf.tensor1d(v);
    const r = roundTensorToBf16(t);
    expect(bits(r.dataSync() as Float32Array)).toEqual(bits(roundToBf16(v)));
    expect(bits(t.dataSync() as Float32Array)).toEqual(bits(v)); // the input is untouched
    tf.dispose([t, r]);
  });
});
