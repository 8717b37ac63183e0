// NF4 quantize and dequantize throughput (elements/s) next to a plain Float32Array copy of the same size in the same
// process and the same run (the memory-bandwidth ceiling), and next to PyTorch running bitsandbytes' reference
// (pure-torch) backend on the same data (bench/torch/nf4.py). Ratios are what matter; raw figures are beside them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../lib/dist/backend/index.js';
import {
  Dequant4bitKernel, TABLE_BYTES, dequantizePacked, dequantizePackedScalar, quantize4bit, writeCodeTable, NF4_CODE,
} from '../lib/dist/quant/index.js';
import { dequantizeKernelName, dequantizeToTensor, nativeKernelsActive, setNativeKernels } from '../lib/dist/backend/index.js';
import { Rng } from '../lib/dist/util/rng.js';
import { timeRoundRobin } from './timing.mjs';
import { runTorch } from './torchRef.mjs';

/** The kernel alone on a memory that already holds the codes (as the fused path has them), output in that memory. */
function residentKernel(state, n) {
  const blocks = n / 64;
  const packedAt = TABLE_BYTES + 4 * blocks;
  const outAt = (packedAt + n / 2 + 15) & ~15;
  const memory = new WebAssembly.Memory({ initial: Math.ceil((outAt + 4 * n) / 65536) });
  const kernel = Dequant4bitKernel.on(memory);
  writeCodeTable(memory.buffer, 0, NF4_CODE);
  new Float32Array(memory.buffer, TABLE_BYTES, blocks).set(state.absmax);
  new Uint8Array(memory.buffer, packedAt, n / 2).set(state.packed);
  return (roundBf16) => kernel.dequantize({ packed: packedAt, absmax: TABLE_BYTES, table: 0, out: outAt, nbytes: n / 2, blocksize: 64, roundBf16 });
}

export async function run({ n = 2048 * 8192, rounds = 9 } = {}) {
  await initBackend({ log: false });
  const x = new Rng(0).normalArray(n, 0.02);
  const copyDst = new Float32Array(n);
  const out = new Float32Array(n);
  const { state } = quantize4bit(x, { quantType: 'nf4', blocksize: 64, shape: [2048, n / 2048], dtype: 'bfloat16' });
  const kernel = residentKernel(state, n);
  const native = nativeKernelsActive();
  const tensorKernel = dequantizeKernelName();
  const s = timeRoundRobin({
    float32Copy: () => copyDst.set(x),
    dequantizeScalarLoop: () => dequantizePackedScalar(state.packed, state.absmax, NF4_CODE, 64, n, out),
    dequantizeSimdKernel: () => kernel(false),
    dequantizeSimdKernelBf16: () => kernel(true),
    dequantizeToArrayBf16: () => dequantizePacked(state.packed, state.absmax, NF4_CODE, 64, n, out, { roundBf16: true }),
    dequantizeToTensorBf16: () => dequantizeToTensor(state, 'bfloat16').dispose(),
    // the wasm backend's own row of the kernel table (what runs without the native addon)
    ...(native ? { dequantizeToTensorBf16WasmSimd: () => { setNativeKernels(false); dequantizeToTensor(state, 'bfloat16').dispose(); setNativeKernels(true); } } : {}),
  }, rounds);
  const q = timeRoundRobin({
    quantize: () => quantize4bit(x, { quantType: 'nf4', blocksize: 64 }),
    quantizeDoubleQuant: () => quantize4bit(x, { quantType: 'nf4', blocksize: 64, doubleQuant: true }),
  }, Math.max(3, rounds >> 1));
  Object.assign(s, q);

  // PyTorch on the same data, in its own process, right after
  const dir = mkdtempSync(join(tmpdir(), 'loralab-nf4-'));
  let torch;
  try {
    writeFileSync(join(dir, 'meta.json'), JSON.stringify({ n, blocksize: 64, code: Array.from(NF4_CODE), quantType: 'nf4' }));
    writeFileSync(join(dir, 'input.f32'), x);
    writeFileSync(join(dir, 'packed.u8'), state.packed);
    writeFileSync(join(dir, 'absmax.f32'), state.absmax);
    torch = runTorch('nf4.py', [dir, '--reps', String(rounds)]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const rate = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, n / v]));
  const toCopy = Object.fromEntries(Object.entries(rate).filter(([k]) => k !== 'float32Copy').map(([k, v]) => [k, v / rate.float32Copy]));
  const vsTorch = torch.unavailable ? { unavailable: torch.unavailable } : {
    dequantizeF32: rate.dequantizeSimdKernel / torch.elementsPerSecond.dequantizeF32,
    dequantizeBf16: rate.dequantizeToTensorBf16 / torch.elementsPerSecond.dequantizeBf16,
    quantize: rate.quantize / torch.elementsPerSecond.quantize,
    float32Copy: rate.float32Copy / torch.elementsPerSecond.float32Copy,
  };
  return {
    name: 'quant',
    what: 'NF4 (blocksize 64) on 2048×8192 elements: LoRA Lab dequantize/quantize vs a Float32Array copy of the same number of elements, and vs bitsandbytes\' reference backend in PyTorch (CPU) on the same data',
    variants: {
      float32Copy: 'Float32Array.prototype.set: reads and writes 4 bytes per element',
      dequantizeScalarLoop: 'the plain JavaScript loop (dequantizePackedScalar), float32 out',
      dequantizeSimdKernel: 'the WebAssembly SIMD kernel alone, codes already in its memory, float32 out',
      dequantizeSimdKernelBf16: 'the same, rounding to bf16',
      dequantizeToArrayBf16: 'dequantizePacked: codes copied in, SIMD, values copied out to a JS Float32Array, bf16',
      dequantizeToTensorBf16: `dequantizeToTensor on TF.js's wasm backend, kernel '${tensorKernel}' — what Linear4bit runs: ${tensorKernel === 'native' ? 'the native addon reads the codes where they are and writes the tensor in the heap (AVX2, threaded)' : 'codes copied into the heap, SIMD writes the tensor'}, bf16`,
      ...(native ? { dequantizeToTensorBf16WasmSimd: "the same with the native addon off (kernel 'wasm-fused'): codes copied into the heap, wasm SIMD writes the tensor, bf16" } : {}),
      quantize: 'quantize4bit (fused single pass), no double quantization',
    },
    elements: n,
    elementsPerSecond: rate,
    ratiosToCopy: toCopy,
    ratiosToPyTorch: vsTorch,
    seconds: s,
    pytorch: torch,
    tfjsBackend: tf.getBackend(),
  };
}
