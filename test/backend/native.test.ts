/**
 * The native BLAS matmul on TF.js's wasm backend (lib/native + backend/nativeKernels.ts): the decision that turns it on
 * or says why not, and, where it is on, its products and gradients against TF.js's own wasm kernel.
 *
 * Tolerance: both sides accumulate K float32 products in a different order, so an entry may differ by a few ulps of
 * the sum of magnitudes it is made of: |native − wasm| ≤ 1e-6 · Σ_k |a_ik||b_kj| + 1e-30 (float32 ε is 1.2e-7).
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { describeChoice, initBackend, nativeKernelsActive, nativeStatus, setNativeKernels, tf } from 'loralab/backend';
import { blasCandidates, blasName, describeNative, resolveNative, type NativeAddon } from '../../lib/src/backend/native.js';
import { batchIndices } from '../../lib/src/backend/nativeKernels.js';
import { matmulXWt } from '../../lib/src/layers/linear.js';
import { geluTanh, geluTanhReference } from '../../lib/src/layers/activations.js';
import { nativeBf16Tensor, nativeDequantize4bit, nativeGeluTanh, nativeRecoverAbsmax } from '../../lib/src/backend/nativeOps.js';
import { doubleQuantize, recoverAbsmax } from '../../lib/src/quant/doubleQuant.js';
import { dequantizePackedScalar } from '../../lib/src/quant/blockwise4.js';
import { roundToBf16 } from '../../lib/src/quant/bf16.js';
import { codebook } from '../../lib/src/quant/codebooks.js';
import { directionalCheck } from '../helpers/gradcheck.js';
import { Rng } from '../../lib/src/util/rng.js';

const fakeAddon = (open: NativeAddon['open']): NativeAddon => ({ open, setThreads: () => null, sgemm: () => {}, geluTanh: () => {}, geluTanhGrad: () => {}, exp: () => {}, setKernelThreads: (n) => n, setSharedPool: () => false, bf16ToF32: () => {}, dequant4bit: () => {}, recoverAbsmax: () => {}, gemmaLayer: () => {}, gemmaLayerFields: '', headLoss: () => 0, adamw: () => {}, sumSquares: () => 0 });
const openblas = () => ({ path: 'libopenblas.so.0', file: '/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0', config: 'OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64', threads: 2, sharedPool: false, kernelThreads: 2, threadTimeout: '8' });

describe('native status (pure decision)', () => {
  it('LORALAB_NATIVE=0 turns it off without loading anything', () => {
    const r = resolveNative({ LORALAB_NATIVE: '0' }, 'linux', () => {
      throw new Error('must not load');
    });
    expect(r).toEqual({ status: { state: 'off', why: 'off, LORALAB_NATIVE=0' }, addon: null });
    expect(describeNative(r.status)).toBe('(native BLAS: off, LORALAB_NATIVE=0)');
  });
  it('says the addon is not built, or failed to load', () => {
    expect(resolveNative({}, 'linux', () => null).status).toMatchObject({ state: 'unbuilt', why: expect.stringMatching(/not built .*C\+\+ compiler/) });
    expect(resolveNative({}, 'linux', () => {
      throw new Error('invalid ELF header\nmore');
    }).status).toEqual({ state: 'unbuilt', why: 'addon failed to load (invalid ELF header)' });
  });
  it('refuses an addon built from older sources, naming what it lacks', () => {
    const old = { ...fakeAddon(openblas), exp: undefined } as unknown as NativeAddon;
    expect(resolveNative({}, 'linux', () => old).status).toEqual({ state: 'unbuilt', why: 'built from older sources (no exp) — run node lib/native/build.mjs' });
  });
  it('looks for OpenBLAS on Linux, Accelerate on macOS, LORALAB_BLAS alone when set', () => {
    expect(blasCandidates('linux', {})).toEqual(['libopenblas.so.0', 'libblas.so.3', 'libopenblas.so']);
    expect(blasCandidates('darwin', {})).toEqual(['/System/Library/Frameworks/Accelerate.framework/Accelerate']);
    expect(blasCandidates('linux', { LORALAB_BLAS: '/opt/x/libmkl_rt.so' })).toEqual(['/opt/x/libmkl_rt.so']);
  });
  it('without a BLAS says what to install; a LORALAB_BLAS that does not load is named', () => {
    const none = fakeAddon(() => {
      throw new Error('libopenblas.so.0: cannot open shared object file');
    });
    const r = resolveNative({}, 'linux', () => none);
    expect(r.status).toEqual({ state: 'no-blas', why: 'not found — install libopenblas0-pthread' });
    expect(describeNative(r.status)).toBe('(native BLAS: not found — install libopenblas0-pthread)');
    expect(resolveNative({ LORALAB_BLAS: '/x.so' }, 'linux', () => none).status).toMatchObject({ state: 'no-blas', why: expect.stringMatching(/^LORALAB_BLAS=\/x\.so did not load \(libopenblas/) });
  });
  it("refuses netlib's reference BLAS unless asked for it by LORALAB_BLAS", () => {
    const ref = fakeAddon(() => ({ path: 'libblas.so.3', file: '/usr/lib/x86_64-linux-gnu/blas/libblas.so.3', config: null, threads: null, sharedPool: false, kernelThreads: 2, threadTimeout: null }));
    expect(blasName(ref.open([]))).toEqual({ name: 'libblas.so.3', reference: true });
    expect(resolveNative({}, 'linux', () => ref).status).toMatchObject({ state: 'no-blas', why: expect.stringMatching(/only the reference BLAS .*install libopenblas0-pthread/) });
    expect(resolveNative({ LORALAB_BLAS: 'libblas.so.3' }, 'linux', () => ref).status).toMatchObject({ state: 'on', library: 'libblas.so.3' });
  });
  it('names OpenBLAS by version and thread count in the one backend line', () => {
    const r = resolveNative({}, 'linux', () => fakeAddon(openblas));
    expect(r.status).toMatchObject({ state: 'on', library: 'OpenBLAS 0.3.21', threads: 2, threadTimeout: '8' });
    expect(describeChoice({ name: 'wasm', reason: 'default CPU backend (x)', native: r.status })).toBe("loralab: TF.js backend 'wasm' + native BLAS (OpenBLAS 0.3.21, 2 threads): default CPU backend (x)");
    expect(blasName({ path: 'a', file: '/System/Library/Frameworks/Accelerate.framework/Versions/A/Accelerate', config: null })).toEqual({ name: 'Accelerate', reference: false });
  });
});

describe('batch indices (numpy broadcasting of the batch dimensions)', () => {
  it('maps every output batch index onto a and b', () => {
    const shapes = fc.array(fc.tuple(fc.integer({ min: 1, max: 3 }), fc.boolean(), fc.boolean()), { maxLength: 3 });
    fc.assert(fc.property(shapes, fc.nat(2), (dims, drop) => {
      // a and b get the same dimension or 1 (broadcast); one of them may have fewer leading dimensions
      const a = dims.map(([d, oneA]) => (oneA ? 1 : d));
      const b = dims.map(([d, , oneB]) => (oneB ? 1 : d)).slice(Math.min(drop, dims.length));
      const r = batchIndices(a, b);
      const out = dims.map(([d], i) => Math.max(a[i], b[i - (dims.length - b.length)] ?? 1));
      expect(r.shape).toEqual(out);
      // reference: walk the multi-index explicitly
      let i = 0;
      const walk = (pre: number[]): void => {
        if (pre.length === out.length) {
          const ravel = (s: number[]) => s.reduce((acc, d, k) => acc * d + (d === 1 ? 0 : pre[k + out.length - s.length]), 0);
          expect([r.a[i], r.b[i]]).toEqual([ravel(a), ravel(b)]);
          i++;
          return;
        }
        for (let j = 0; j < out[pre.length]; j++) walk([...pre, j]);
      };
      walk([]);
      expect(i).toBe(r.a.length);
    }));
  });
  it('rejects batch shapes that do not broadcast', () => {
    expect(() => batchIndices([2, 3], [4])).toThrow(/broadcast|shapes/i);
  });
});

const expectNative = process.env.LORALAB_EXPECT_NATIVE === '1';
// started before the suites are collected, so that which of them run can depend on it
const choice = await initBackend({ log: false });
const active = choice.name === 'wasm' && nativeKernelsActive();
afterAll(() => {
  setNativeKernels(true);
});

describe('native matmul in this process', () => {
  it.runIf(expectNative)('is on where LORALAB_EXPECT_NATIVE=1 (a silent fall-back to wasm fails here)', () => {
    expect(nativeStatus()).toMatchObject({ state: 'on' });
    expect(active).toBe(true);
  });
  it.runIf(expectNative)("the BLAS loaded with OPENBLAS_THREAD_TIMEOUT set (the addon's 8 unless the environment chose)", () => {
    const s = nativeStatus();
    expect(s?.state).toBe('on');
    if (s?.state !== 'on') return;
    expect(s.threadTimeout).not.toBeNull();
    expect(s.threadTimeout).toBe(process.env.OPENBLAS_THREAD_TIMEOUT);
  });
  it('agrees with its status: on exactly when the kernel is registered, off under LORALAB_NATIVE=0', () => {
    const s = nativeStatus();
    if (tf.getBackend() !== 'wasm') return expect(s).toBeNull();
    expect(s).not.toBeNull();
    expect(s!.state === 'on').toBe(active);
    if (process.env.LORALAB_NATIVE === '0') expect(s).toEqual({ state: 'off', why: 'off, LORALAB_NATIVE=0' });
  });
});

/**
 * The native kernel on (a, b) against TF.js's wasm kernel on a and b broadcast to the full batch shape first (TF.js's
 * own kernel flattens the batch dimensions, which is right only when equal or when one side's batch is 1): the two
 * results as arrays, and Σ_k |a||b| for the tolerance.
 */
function bothWays(a: tf.Tensor, b: tf.Tensor, tA: boolean, tB: boolean): { native: Float32Array; wasm: Float32Array; scale: Float32Array } {
  return tf.tidy(() => {
    setNativeKernels(true);
    const n = tf.matMul(a, b, tA, tB);
    setNativeKernels(false);
    const batch = n.shape.slice(0, -2);
    const full = (t: tf.Tensor) => (batch.length ? tf.broadcastTo(t, [...batch, ...t.shape.slice(-2)]) : t);
    const w = tf.matMul(full(a), full(b), tA, tB);
    const s = tf.matMul(full(a).abs(), full(b).abs(), tA, tB);
    setNativeKernels(true);
    expect(n.shape).toEqual(w.shape);
    return { native: n.dataSync() as Float32Array, wasm: w.dataSync() as Float32Array, scale: s.dataSync() as Float32Array };
  });
}

function expectClose(r: { native: Float32Array; wasm: Float32Array; scale: Float32Array }): void {
  expect(r.native.length).toBe(r.wasm.length);
  for (let i = 0; i < r.native.length; i++) {
    const err = Math.abs(r.native[i] - r.wasm[i]);
    if (!(err <= 1e-6 * r.scale[i] + 1e-30)) expect({ i, native: r.native[i], wasm: r.wasm[i], bound: 1e-6 * r.scale[i] }).toBeNull();
  }
}

describe.runIf(expectNative || active)('native matmul against TF.js wasm kernel', () => {
  const rng = new Rng(7);
  const tensor = (shape: number[]) => tf.tensor(rng.normalArray(shape.reduce((p, d) => p * d, 1)), shape);

  it('every transpose, odd sizes, batch broadcasting (property)', () => {
    const dim = fc.integer({ min: 1, max: 37 });
    const batchDim = fc.integer({ min: 1, max: 3 });
    fc.assert(fc.property(dim, dim, dim, fc.boolean(), fc.boolean(), fc.array(fc.tuple(batchDim, fc.boolean(), fc.boolean()), { maxLength: 2 }), fc.nat(1), (M, K, N, tA, tB, batch, dropB) => {
      const aBatch = batch.map(([d, one]) => (one ? 1 : d));
      const bBatch = batch.map(([d, , one]) => (one ? 1 : d)).slice(Math.min(dropB, batch.length));
      tf.tidy(() => {
        const a = tensor([...aBatch, ...(tA ? [K, M] : [M, K])]);
        const b = tensor([...bBatch, ...(tB ? [N, K] : [K, N])]);
        expectClose(bothWays(a, b, tA, tB));
      });
    }), { numRuns: 120 });
  });

  it('the shapes of a training step: attention (batched, transposed) and x·Wᵀ', () => {
    tf.tidy(() => {
      expectClose(bothWays(tensor([2, 4, 64, 64]), tensor([2, 4, 64, 64]), false, true)); // q·kᵀ
      expectClose(bothWays(tensor([2, 4, 64, 64]), tensor([2, 1, 64, 64]), false, false)); // probs·v, one KV head
      expectClose(bothWays(tensor([128, 256]), tensor([768, 256]), false, true)); // x·Wᵀ
      expectClose(bothWays(tensor([128, 768]), tensor([128, 256]), true, false)); // dW = dyᵀ·x
    });
  });

  it('empty products: K = 0 gives zeros, M = 0 an empty tensor', () => {
    setNativeKernels(true);
    const z = tf.matMul(tf.zeros([3, 0]), tf.zeros([0, 4]));
    expect(Array.from(z.dataSync())).toEqual(new Array(12).fill(0));
    expect(tf.matMul(tf.zeros([0, 5]), tf.ones([5, 2])).shape).toEqual([0, 2]);
    expect(() => tf.matMul(tf.ones([2, 3]), tf.ones([4, 2]))).toThrow(/inner dimensions 3 and 4/);
  });

  it('stays correct when allocating the output grows the wasm heap (a new ArrayBuffer)', () => {
    setNativeKernels(true);
    const backend = tf.backend() as unknown as { wasm: { asm: { memory: WebAssembly.Memory } } };
    const before = backend.wasm.asm.memory.buffer;
    // an outer product whose output is larger than the whole heap so far: makeOutput must grow it
    const n = Math.ceil(Math.sqrt(before.byteLength / 4 + 1));
    const col = tf.range(0, n).reshape([n, 1]);
    const row = tf.range(0, n).mul(0.5).reshape([1, n]);
    const y = tf.matMul(col, row);
    expect(backend.wasm.asm.memory.buffer).not.toBe(before);
    const v = y.dataSync();
    for (const [i, j] of [[0, 0], [n - 1, n - 1], [7 % n, (n - 3 + n) % n], [n >> 1, n >> 2]]) expect(v[i * n + j]).toBe(i * j * 0.5);
    tf.dispose([col, row, y]);
  });

  it('refuses offsets outside the heap instead of touching memory', async () => {
    const { loadNative } = await import('../../lib/src/backend/native.js');
    const { addon } = await loadNative();
    const buf = new ArrayBuffer(64);
    addon!.sgemm(buf, false, false, 2, 2, 2, 0, 16, 48, 1); // exactly fills the buffer
    expect(() => addon!.sgemm(buf, false, false, 2, 2, 2, 0, 16, 52, 1)).toThrow(/outside the buffer/);
    expect(() => addon!.sgemm(buf, false, false, 1, 1, 1, 2, 0, 0, 1)).toThrow(/misaligned/);
    expect(() => addon!.sgemm(buf, false, false, 1, 1, 1, 0, 0, 0, 2, new Int32Array([0, 99]), new Int32Array([0, 0]))).toThrow(/outside the buffer/);
  });

  it('gradients through tf.matMul match finite differences and the wasm kernel', () => {
    setNativeKernels(true);
    for (const [tA, tB] of [[false, false], [false, true], [true, false], [true, true]] as const) {
      const a = tf.variable(tensor(tA ? [2, 9, 5] : [2, 5, 9]));
      const b = tf.variable(tensor(tB ? [2, 7, 9] : [2, 9, 7]));
      const w = tensor([2, 5, 7]);
      const loss = () => tf.tidy(() => tf.sum(tf.matMul(a, b, tA, tB).mul(w)) as tf.Scalar);
      const grads = (native: boolean) => {
        setNativeKernels(native);
        const { grads: g } = tf.variableGrads(loss, [a, b]);
        setNativeKernels(true);
        return [g[a.name], g[b.name]];
      };
      const [ga, gb] = grads(true);
      const [wa, wb] = grads(false);
      // the loss is linear in a and in b, so the central difference is exact at any step: a wide one drowns rounding.
      // The error is measured against Σ|g·v| (a wrong gradient is off by that much), not against the sum itself,
      // which can cancel to a small number whose relative error is only the loss's float32 rounding.
      expect(directionalCheck(loss, a, ga, { eps: 1 }).scaledErr).toBeLessThan(1e-5);
      expect(directionalCheck(loss, b, gb, { eps: 1, seed: 2 }).scaledErr).toBeLessThan(1e-5);
      for (const [x, y] of [[ga, wa], [gb, wb]]) {
        const d = tf.max(tf.abs(x.sub(y))).dataSync()[0];
        expect(d).toBeLessThan(1e-4 * tf.max(tf.abs(y)).dataSync()[0] * 9);
      }
      tf.dispose([a, b, w, ga, gb, wa, wb]);
    }
  });

  it('a linear layer computes x·Wᵀ directly on the native path, with the same values and gradients', () => {
    const x = tensor([6, 11]);
    const w = tf.variable(tensor([13, 11]));
    const run = (native: boolean) => {
      setNativeKernels(native);
      const f = () => tf.sum(matmulXWt(x as tf.Tensor2D, w as unknown as tf.Tensor2D, { weightGrad: true }).square()) as tf.Scalar;
      const { value, grads } = tf.variableGrads(f, [w]);
      const gx = tf.grad((xi: tf.Tensor) => tf.sum(matmulXWt(xi as tf.Tensor2D, w as unknown as tf.Tensor2D, { weightGrad: false }).square()))(x);
      setNativeKernels(true);
      return [value.dataSync()[0], grads[w.name].dataSync(), gx.dataSync()] as const;
    };
    const [vn, gn, xn] = run(true);
    const [vw, gw, xw] = run(false);
    expect(Math.abs(vn - vw)).toBeLessThan(1e-5 * Math.abs(vw));
    for (const [p, q] of [[gn, gw], [xn, xw]] as const) for (let i = 0; i < p.length; i++) expect(Math.abs(p[i] - q[i])).toBeLessThan(1e-4 * (1 + Math.abs(q[i])));
    tf.dispose([x, w]);
  });

  it('tanh-GELU: one native pass forward and backward, against the TF.js ops (1e-6 relative), threaded or not', () => {
    for (const n of [1, 7, 1000, 100_003]) {
      const x = tf.tensor1d(Array.from({ length: n }, (_, i) => (i === 0 ? 0 : 12 * Math.sin(i * 1.3) * Math.exp(-((i % 17) / 4)))));
      const dy = tf.randomNormal([n]);
      const y = nativeGeluTanh(x);
      expect(y).not.toBeNull();
      const yRef = geluTanhReference(x);
      const dx = tf.grad((t: tf.Tensor) => geluTanh(t).mul(dy).sum())(x);
      setNativeKernels(false);
      expect(nativeGeluTanh(x)).toBeNull(); // off: the layers take the reference
      const dxRef = tf.grad((t: tf.Tensor) => geluTanh(t).mul(dy).sum())(x);
      setNativeKernels(true);
      for (const [p, q, what] of [[y!, yRef, 'forward'], [dx, dxRef, 'backward']] as const) {
        const a = p.dataSync();
        const b = q.dataSync();
        const xs = x.dataSync();
        for (let i = 0; i < n; i++) {
          if (!(Math.abs(a[i] - b[i]) <= 1e-6 * (1 + Math.abs(b[i])) * (1 + Math.abs(xs[i])))) expect({ what, i, x: xs[i], native: a[i], reference: b[i] }).toBeNull();
        }
      }
      tf.dispose([x, dy, y!, yRef, dx, dxRef]);
    }
  });

  it('Exp: the native kernel against TF.js wasm kernel (2 ulp; overflow to ∞ alike), over the range a softmax and a loss see', () => {
    const n = 300_007; // threaded, odd length
    const x = tf.tensor1d(Array.from({ length: n }, (_, i) => -100 + (200 * i) / n));
    setNativeKernels(true);
    const y = tf.exp(x).dataSync();
    setNativeKernels(false);
    const ref = tf.exp(x).dataSync();
    setNativeKernels(true);
    for (let i = 0; i < n; i++) if (!(y[i] === ref[i] || Math.abs(y[i] - ref[i]) <= 2.4e-7 * Math.abs(ref[i]))) expect({ i, native: y[i], wasm: ref[i] }).toBeNull();
    expect(Array.from(tf.exp(tf.tensor1d([0, -Infinity, Infinity, NaN])).dataSync())).toEqual([1, 0, Infinity, NaN]);
    expect(Array.from(tf.exp(tf.tensor1d([1, 2], 'int32')).dataSync()).map((v) => +v.toFixed(4))).toEqual([2.7183, 7.3891]); // int32: TF.js's kernel
    x.dispose();
  });

  it('4-bit dequantize: the native kernel (AVX2 and scalar tails, threaded) gives the reference loop\'s bits (property)', () => {
    setNativeKernels(true);
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 70_000 }), fc.constantFrom(2, 6, 16, 32, 64, 128, 4096), fc.constantFrom('nf4', 'fp4'), fc.boolean(), fc.integer(),
      (n, blocksize, quantType, roundBf16, seed) => {
        const rng = new Rng(seed >>> 0);
        const packed = Uint8Array.from({ length: Math.ceil(n / 2) }, () => Math.floor(rng.next() * 256));
        // absmax over many binades, so that products round differently in bf16 (and one NaN block)
        const absmax = Float32Array.from({ length: Math.ceil(n / blocksize) }, () => Math.exp(20 * (rng.next() - 0.5)));
        if (absmax.length > 2) absmax[1] = NaN;
        const code = Float32Array.from(codebook(quantType));
        const want = dequantizePackedScalar(packed, absmax, code, blocksize, n);
        if (roundBf16) roundToBf16(want, { inPlace: true });
        const t = nativeDequantize4bit(packed, absmax, code, blocksize, [1, n], roundBf16)!;
        const got = t.dataSync() as Float32Array;
        t.dispose();
        for (let i = 0; i < n; i++) if (!Object.is(got[i], want[i])) return expect({ i, n, blocksize, native: got[i], reference: want[i] }).toBeNull();
      },
    ), { numRuns: 60 });
    expect(nativeDequantize4bit(new Uint8Array(4), new Float32Array(1), new Float32Array(16), 7, [1, 8], false)).toBeNull(); // odd blocksize: not this kernel
  });

  it('double quantization undone natively gives recoverAbsmax\'s bits, over odd lengths and threads', () => {
    setNativeKernels(true);
    for (const n of [1, 255, 257, 70_001, 300_000]) {
      const rng = new Rng(n);
      const absmax = Float32Array.from({ length: n }, () => Math.exp(8 * (rng.next() - 0.5)));
      const { state } = doubleQuantize(absmax);
      const got = nativeRecoverAbsmax(state)!;
      const want = recoverAbsmax(state);
      for (let i = 0; i < n; i++) if (!Object.is(got[i], want[i])) expect({ n, i, native: got[i], reference: want[i] }).toBeNull();
    }
  });

  it('bf16 rows expand exactly into a heap tensor; a range outside the table is refused', () => {
    setNativeKernels(true);
    const src = Uint16Array.from({ length: 3 * 50_001 }, (_, i) => (i * 40503) & 0xffff);
    const t = nativeBf16Tensor(src, 50_001, [2, 50_001])!;
    const got = new Uint32Array((t.dataSync() as Float32Array).slice().buffer);
    t.dispose();
    for (let i = 0; i < got.length; i++) if (got[i] !== src[50_001 + i] << 16 >>> 0) expect({ i, got: got[i], src: src[50_001 + i] }).toBeNull();
    expect(() => nativeBf16Tensor(src, 2 * 50_001, [2, 50_001])).toThrow(/outside the source/);
  });

  it('Identity shares memory instead of copying, and the shared data lives until its last tensor is disposed', () => {
    setNativeKernels(true);
    const x = tf.tensor1d([1, 2, 3]);
    const before = tf.memory().numDataBuffers;
    const y = tf.clone(x);
    expect(tf.memory().numDataBuffers).toBe(before); // no new buffer: the same data, one more reference
    expect(y.dataId).toBe(x.dataId);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3]);
    const g = tf.grad((t: tf.Tensor) => t.square().sum())(y); // autodiff's pass-through gradients go through Identity
    expect(Array.from(g.dataSync())).toEqual([2, 4, 6]);
    expect(tf.memory().numDataBuffers).toBe(before + 1); // y's (shared) data and g's
    tf.dispose([y, g]);
    expect(tf.memory().numDataBuffers).toBe(before - 1);
  });
});
