/**
 * The WGSL dequantize kernel's host side, in Node (no WebGPU here): it refuses to run on another backend, packs the
 * bytes into little-endian words, and its shader's index arithmetic — replayed in JavaScript on those words — picks
 * the same nibble as the CPU kernel. The shader itself runs in Chromium in test/site (the NF4 playground's GPU line).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { dequantize4bitWebGpu, dequantize4bitWgsl, Dequantize4bitProgram, packedToWords } from '../../lib/src/quant/kernels/webgpu.js';
import { quantize4bit, unpackNibbles } from 'loralab/quant';
import { Rng } from '../../lib/src/util/rng.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('dequantize4bitWebGpu (host side)', () => {
  it("throws a clear error when the active TF.js backend is not 'webgpu'", () => {
    const { state } = quantize4bit(new Float32Array(64).fill(0.5), { blocksize: 64 });
    expect(() => dequantize4bitWebGpu(state.packed, state.absmax!, state.code, 64, [8, 8], { roundBf16: false })).toThrow(/needs TF\.js's 'webgpu' backend to be active, but it is 'cpu'/);
  });

  it('packs bytes into little-endian int32 words, zero-padded', () => {
    const words = packedToWords(Uint8Array.from([0x12, 0x34, 0x56, 0x78, 0x9a]));
    expect(Array.from(words)).toEqual([0x78563412, 0x9a]);
    expect(Array.from(packedToWords(Uint8Array.from([0xff, 0xff, 0xff, 0xff])))).toEqual([-1]);
    expect(packedToWords(new Uint8Array(0)).length).toBe(1); // WebGPU buffers cannot be empty
  });

  it("the shader's nibble arithmetic on the words gives the CPU kernel's codes (odd n, high nibble first)", () => {
    const r = new Rng(3);
    const n = 1001;
    const { state } = quantize4bit(Float32Array.from({ length: n }, () => r.normal()), { blocksize: 32 });
    const words = new Uint32Array(packedToWords(state.packed).buffer);
    // nibbleAt(e) from dequantize4bitWgsl, in JavaScript
    const nibbleAt = (e: number) => { const j = e >> 1; return (words[j >> 2] >>> ((j & 3) * 8 + (e & 1 ? 0 : 4))) & 0xf; };
    expect(Array.from({ length: n }, (_, e) => nibbleAt(e))).toEqual(Array.from(unpackNibbles(state.packed, n)));
  });

  it('the WGSL rounds to bf16 only when asked, with the RNE bit trick', () => {
    const bf16 = dequantize4bitWgsl({ roundBf16: true });
    expect(bf16).toContain('(bits + 0x7fffu + ((bits >> 16u) & 1u)) & 0xffff0000u');
    expect(bf16).toContain('setOutputAtIndex(index, roundToBf16(v))');
    expect(dequantize4bitWgsl({ roundBf16: false })).toContain('setOutputAtIndex(index, v)');
    const p = new Dequantize4bitProgram([3, 5], true);
    expect(p.outputShape).toEqual([3, 5]);
    expect(p.dispatch).toEqual([1, 1, 1]);
    expect(p.shaderKey).toMatch(/bf16/);
  });
});
