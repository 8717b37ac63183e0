/// <reference types="@webgpu/types" />
/**
 * What the WebGPU tests and bench run on the device, as plain-JSON calls on TF.js's webgpu backend: in Chromium
 * through page.ts (bundled with LoRA Lab's sources by harness.ts), or in Node where the `webgpu` package finds an
 * adapter (bench/webgpu.mjs).
 */
import * as tf from '@tensorflow/tfjs';
import { fetchModelFiles, QloraSession, startWebGpu, webgpuAdapterInfo, type ModelFiles } from '../../lib/src/webgpu/index.js';
import { dequantizeToTensor, residentQuantState, disposeResident, rowChunks } from '../../lib/src/backend/dequantize.js';
import { dequantize4bitWebGpu, roundToBf16WebGpu, uploadPacked4bit, dequantizeResident4bit } from '../../lib/src/quant/kernels/webgpu.js';
import { dequantize4bit, quantize4bit, stateAbsmax } from '../../lib/src/quant/quantize4bit.js';
import { roundToBf16 } from '../../lib/src/quant/bf16.js';
import { Rng } from '../../lib/src/util/rng.js';
import { BatchSampler, buildExample, padBatch, SQL_TEMPLATE, type Example } from '../../lib/src/train/data.js';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { StepSpec, StepReport, DequantReport, MemorySample, BenchReport } from './protocol.js';

/** Where model folders are fetched from: the harness serves them under /models/. */
export const modelBase = { url: '/models' };

const files = new Map<string, Promise<ModelFiles>>();
const modelFiles = (name: string) => {
  if (!files.has(name)) files.set(name, fetchModelFiles(`${modelBase.url}/${name}`));
  return files.get(name)!;
};

/** Downloads from the GPU: every read of a tensor whose values are not already on the CPU. */
function countDownloads(): { count: () => number; stop: () => void } {
  const backend = tf.backend() as WebGPUBackend & { tensorMap: { get(id: object): { values: unknown } | undefined } };
  const orig = { read: backend.read.bind(backend), readSync: backend.readSync.bind(backend) };
  let n = 0;
  const onGpu = (id: object) => backend.tensorMap.get(id)?.values == null;
  backend.read = (id) => { if (onGpu(id)) n++; return orig.read(id); };
  backend.readSync = (id) => { if (onGpu(id)) n++; return orig.readSync(id); };
  return { count: () => n, stop: () => Object.assign(backend, orig) };
}

function memory(): MemorySample {
  const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number; numBytesAllocatedInGPU?: number };
  const bm = (tf.backend() as WebGPUBackend).bufferManager;
  return { numTensors: m.numTensors, numBytes: m.numBytes, numBytesInGPU: m.numBytesInGPU ?? -1, numBytesAllocatedInGPU: m.numBytesAllocatedInGPU ?? -1, usedBuffers: bm.getNumUsedBuffers(), freeBuffers: bm.getNumFreeBuffers() };
}

async function session(spec: StepSpec): Promise<{ s: QloraSession; examples: Example[] }> {
  await startWebGpu();
  const s = QloraSession.fromFiles(await modelFiles(spec.model), { r: spec.r, loraAlpha: spec.loraAlpha, targetModules: spec.targetModules, initLoraWeights: spec.initLoraWeights, seed: spec.seed, lr: spec.lr });
  const cfg = s.loaded.config;
  const examples = spec.records.map((r) => buildExample(s.tokenizer, SQL_TEMPLATE, r, { maxLength: spec.maxLength, eosId: cfg.eosTokenId }));
  return { s, examples };
}

/** Loss and gradients on all examples, then `steps` steps on the batches the Trainer's sampler draws. */
export async function runSteps(spec: StepSpec): Promise<StepReport> {
  const { s, examples } = await session(spec);
  const pad = s.loaded.config.padTokenId;
  try {
    const { loss, grads } = s.trainer.lossAndGrads(padBatch(examples, pad));
    const grads0: Record<string, number[]> = {};
    for (const [k, g] of grads) grads0[k] = Array.from(await g.data());
    const loss0 = (await loss.data())[0];
    tf.dispose([loss, ...grads.values()]);
    const sampler = new BatchSampler(examples.length, spec.batchSize, spec.seed);
    const losses: number[] = [];
    const downloads: number[] = [];
    const seconds: number[] = [];
    const mem: MemorySample[] = [];
    for (let k = 0; k < spec.steps; k++) {
      const batch = padBatch(sampler.next().map((i) => examples[i]), pad);
      const counter = countDownloads();
      const r = await s.step(batch).finally(counter.stop);
      losses.push(r.loss);
      seconds.push(r.seconds);
      downloads.push(counter.count());
      mem.push(memory());
    }
    return { adapter: webgpuAdapterInfo(), loss0, grads0, losses, downloads, seconds, memory: mem };
  } finally {
    s.dispose();
  }
}

/** Quantize seeded weights and compare the GPU's dequantized bits with the CPU kernel's, every path and dtype. */
export async function dequantCheck(): Promise<DequantReport> {
  await startWebGpu();
  const rng = new Rng(7);
  const cases: DequantReport['cases'] = [];
  const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);
  const mismatches = (a: Float32Array, b: Float32Array) => { let n = 0; const x = bits(a), y = bits(b); for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) n++; return n + Math.abs(a.length - b.length); };
  for (const [quantType, blocksize, doubleQuant, out, inF] of [['nf4', 64, false, 96, 160], ['nf4', 64, true, 130, 256], ['fp4', 128, false, 40, 384], ['nf4', 32, true, 7, 96], ['fp4', 64, true, 33, 64]] as const) {
    const w = Float32Array.from({ length: out * inF }, () => rng.normal() * (rng.next() < 0.01 ? 8 : 0.05));
    for (const dtype of ['float32', 'bfloat16'] as const) {
      const { state } = quantize4bit(w, { quantType, blocksize, doubleQuant, shape: [out, inF], dtype });
      const cpu = dequantize4bit(state, { dtype });
      const resident = residentQuantState(state)!;
      // every row chunk of a layer, from the resident copy (the forward pass's path), and the one-shot upload path
      const chunks = rowChunks(out, inF, blocksize, Math.max(blocksize, Math.floor((out * inF) / 3)));
      const parts = chunks.map(([a, b]) => dequantizeToTensor(state, dtype, [a, b], undefined, resident));
      const joined = tf.concat(parts, 0);
      const chunked = (await joined.data()) as Float32Array;
      const once = dequantize4bitWebGpu(state.packed, stateAbsmax(state), state.code, blocksize, [out, inF], { roundBf16: dtype === 'bfloat16' });
      const whole = (await once.data()) as Float32Array;
      tf.dispose([...parts, joined, once]);
      disposeResident(resident);
      cases.push({ name: `${quantType} blocksize ${blocksize}${doubleQuant ? ' double-quant' : ''} [${out}, ${inF}] ${dtype}`, n: cpu.length, chunks: chunks.length, chunkedMismatches: mismatches(chunked, cpu), wholeMismatches: mismatches(whole, cpu) });
    }
  }
  // bf16 rounding of activations: ties both ways, the largest finite values, infinities, NaNs, signed zeros, randoms
  const special = new Uint32Array([0x3f808000, 0x3f818000, 0x3f80ffff, 0x3f817fff, 0x7f7fffff, 0xff7fffff, 0x7f7f8000, 0x7f800000, 0xff800000, 0x7fc00001, 0xffa00000, 0x00000000, 0x80000000, 0x3f800000, 0x00800000, 0x80800000]);
  const values = new Float32Array(special.length + 4096);
  values.set(new Float32Array(special.buffer));
  for (let i = special.length; i < values.length; i++) values[i] = rng.normal() * 10 ** Math.floor(rng.next() * 20 - 10);
  const t = tf.tensor1d(values);
  const r = roundToBf16WebGpu(t);
  const gpuRound = (await r.data()) as Float32Array;
  tf.dispose([t, r]);
  const roundMismatches = mismatches(gpuRound, roundToBf16(values));
  return { adapter: webgpuAdapterInfo(), cases, roundMismatches, roundValues: values.length };
}

/**
 * Throughput on this adapter: QLoRA steps (tokens/s after a warm-up step) and dequantize bandwidth (bytes written by
 * the kernel per second) against a device buffer copy of the same size (copyBufferToBuffer: a read and a write).
 */
export async function bench(spec: StepSpec & { dequantShape: [number, number]; repeats: number }): Promise<BenchReport> {
  const { s, examples } = await session(spec);
  const pad = s.loaded.config.padTokenId;
  const sampler = new BatchSampler(examples.length, spec.batchSize, spec.seed);
  const steps: { loss: number; seconds: number; tokens: number }[] = [];
  for (let k = 0; k < spec.steps; k++) {
    const r = await s.step(padBatch(sampler.next().map((i) => examples[i]), pad));
    steps.push({ loss: r.loss, seconds: r.seconds, tokens: r.tokens });
  }
  s.dispose();
  const [out, inF] = spec.dequantShape;
  const rng = new Rng(1);
  const { state } = quantize4bit(Float32Array.from({ length: out * inF }, () => rng.normal()), { shape: [out, inF], dtype: 'bfloat16' });
  const w = uploadPacked4bit(state.packed, stateAbsmax(state), state.code, state.blocksize, out * inF);
  const time = async (f: () => tf.Tensor | void): Promise<number> => {
    const one = f(); // warm-up, pipeline compiled
    if (one) { await one.data(); one.dispose(); }
    const t0 = performance.now();
    const made: tf.Tensor[] = [];
    for (let i = 0; i < spec.repeats; i++) { const x = f(); if (x) made.push(x); }
    const sync = tf.tensor1d([0]).add(made.length ? made[made.length - 1].sum() : 0);
    await sync.data();
    const sec = (performance.now() - t0) / 1000 / spec.repeats;
    tf.dispose([...made, sync]);
    return sec;
  };
  const dequantSec = await time(() => dequantizeResident4bit(w, [out, inF], { roundBf16: true }));
  const backend = tf.backend() as WebGPUBackend;
  const bytes = out * inF * 4;
  const device = backend.device;
  const src = device.createBuffer({ size: bytes, usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.STORAGE });
  const dst = device.createBuffer({ size: bytes, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.STORAGE });
  const copyOnce = () => { const enc = device.createCommandEncoder(); enc.copyBufferToBuffer(src, 0, dst, 0, bytes); device.queue.submit([enc.finish()]); };
  copyOnce();
  await device.queue.onSubmittedWorkDone();
  const c0 = performance.now();
  for (let i = 0; i < spec.repeats; i++) copyOnce();
  await device.queue.onSubmittedWorkDone();
  const copySec = (performance.now() - c0) / 1000 / spec.repeats;
  src.destroy();
  dst.destroy();
  tf.dispose([w.words, w.absmax, w.code]);
  return { adapter: webgpuAdapterInfo(), steps, dequant: { shape: [out, inF], outputBytes: bytes, seconds: dequantSec }, copy: { bytes, seconds: copySec } };
}

/** Whether this browser gives a WebGPU adapter at all (before TF.js is involved). */
export async function probe(): Promise<{ adapter: boolean; why?: string }> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) return { adapter: false, why: 'navigator.gpu is undefined' };
  const a = await gpu.requestAdapter().catch(() => null);
  return a ? { adapter: true } : { adapter: false, why: 'navigator.gpu.requestAdapter() gave null' };
}
