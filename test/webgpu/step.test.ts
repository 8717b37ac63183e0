/**
 * The QLoRA step on TF.js's webgpu backend, in Chromium (SwiftShader's adapter here), against the CPU step in Node:
 * the same loss and LoRA gradients within a derived tolerance, the same loss curve, the dequantize kernel bit for bit
 * equal to the CPU's, one download per step (the loss), and GPU memory that does not grow over 50 steps.
 *
 * Without a WebGPU adapter these tests fail when CI=true (Debian's Chromium with --enable-unsafe-webgpu gives
 * SwiftShader's, so a missing adapter is a broken setup) and are skipped elsewhere, saying why.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from 'loralab/backend';
import { loadGemma } from 'loralab/models/gemma';
import { getPeftModel } from 'loralab/peft';
import { Trainer, QLORA_LOAD_OPTIONS, SQL_TEMPLATE, buildExample, padBatch, type TrainableSet } from 'loralab/train';
import { MODELS, openHarness, ROOT, type Harness } from './harness.js';
import type { DequantReport, StepReport, StepSpec } from './protocol.js';

/** The SQL task's shortest examples (SwiftShader runs WGSL on the CPU: short sequences keep each step to seconds). */
const RECORDS = readFileSync(join(ROOT, 'datasets/sql/train.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { question: string; sql: string })
  .sort((a, b) => a.question.length + a.sql.length - b.question.length - b.sql.length);

/**
 * Tolerances, from float32 accumulation order. The two steps compute the same expression with the same bf16 operands
 * (the 4-bit weights dequantize to identical bits, checked below), but the GPU sums each dot product in another order:
 * a length-K float32 sum differs by at most ~K·2⁻²⁴ relative (K ≤ 768 here: 5e-5) and typically √K·2⁻²⁴ (2e-6); WGSL's
 * exp, log and tanh are accurate to a few ulp rather than correctly rounded. One effect is larger: an activation whose
 * float32 value sits within an ulp of a bf16 rounding midpoint rounds to the neighbouring bf16 value on one side only,
 * a 2⁻⁸ change of that operand, and a gradient entry fed by a few such products moves by up to ~2⁻⁹ of the tensor's
 * scale; several flips feeding one entry add up. Hence: loss within 1e-4 relative, each gradient tensor within 1e-2
 * of its largest entry, about five such flips on one entry (measured on SwiftShader: loss 1.5e-6, gradients 4.5e-7 on
 * the tiny fixture, whose activations rarely cross a midpoint; on gemma-micro 3e-4 against the CPU step on TF.js's
 * wasm matmul and 4.1e-3 against the native BLAS matmul, whose summation order differs more from the GPU's). Over a few steps AdamW divides by √v, so a gradient entry near zero can flip its update's sign
 * (a 2·lr difference in that weight): the loss curve is compared at 1e-3 (measured: 1.2e-5).
 */
const LOSS_RTOL = 1e-4;
const GRAD_RTOL = 1e-2;
const CURVE_RTOL = 1e-3;

const inCI = process.env.CI === 'true';
let h: Harness | null = null;
let noAdapter = '';

beforeAll(async () => {
  await initBackend({ log: false });
  h = await openHarness();
  const probe = await h.page.evaluate(() => (window as unknown as { loralabWebgpu: { probe(): Promise<{ adapter: boolean; why?: string }> } }).loralabWebgpu.probe());
  if (!probe.adapter) noAdapter = `Chromium gives no WebGPU adapter (${probe.why})`;
}, 120_000);

afterAll(async () => {
  await h?.close();
});

/** In CI a missing adapter fails the test; elsewhere the test is skipped with the reason. */
function needsAdapter(ctx: { skip: (note?: string) => void }): void {
  if (!noAdapter) return;
  if (inCI) throw new Error(`${noAdapter}: CI runs these tests on Chromium's SwiftShader adapter (/usr/bin/chromium --enable-unsafe-webgpu)`);
  ctx.skip(noAdapter);
}

type Api = { runSteps(s: StepSpec): Promise<StepReport>; dequantCheck(): Promise<DequantReport> };
const call = <K extends keyof Api>(name: K, arg?: Parameters<Api[K]>[0]) =>
  h!.page.evaluate(([n, a]) => (window as unknown as { loralabWebgpu: Record<string, (x: unknown) => unknown> }).loralabWebgpu[n as string](a), [name, arg] as const) as ReturnType<Api[K]>;

/** The CPU step (wasm backend, the Trainer): loss and gradients on all records, then the Trainer's loss curve. */
function cpuReference(spec: StepSpec): { loss0: number; grads0: Map<string, Float32Array>; losses: number[] } {
  const loaded = loadGemma(MODELS[spec.model], QLORA_LOAD_OPTIONS);
  const peft = getPeftModel(loaded.model, { r: spec.r, loraAlpha: spec.loraAlpha, loraDropout: 0, targetModules: spec.targetModules, initLoraWeights: spec.initLoraWeights, taskType: 'CAUSAL_LM', seed: spec.seed });
  const params = new Map<string, tf.Variable>();
  for (const [path, l] of peft.loraLayers) {
    params.set(`base_model.model.${path}.lora_A.weight`, l.loraA);
    params.set(`base_model.model.${path}.lora_B.weight`, l.loraB);
  }
  const trainable: TrainableSet = { params, save: (d) => peft.saveAdapter(d), load: () => undefined };
  const cfg = loaded.config;
  const examples = spec.records.map((r) => buildExample(loaded.tokenizer!, SQL_TEMPLATE, r, { maxLength: spec.maxLength, eosId: cfg.eosTokenId }));
  const outDir = mkdtempSync(join(tmpdir(), 'loralab-webgpu-ref-'));
  try {
    const trainer = new Trainer(loaded.model, trainable, examples, null, { steps: spec.steps, lr: spec.lr, batchSize: spec.batchSize, seed: spec.seed, outDir }, cfg.padTokenId);
    const { value, grads } = trainer.valueAndGrads(padBatch(examples, cfg.padTokenId), [...params.values()]);
    const grads0 = new Map<string, Float32Array>();
    for (const [name, v] of params) grads0.set(name, grads.get(v)!.dataSync() as Float32Array);
    tf.dispose([...grads.values()]);
    const losses = trainer.run().map((r) => r.loss);
    return { loss0: value, grads0, losses };
  } finally {
    loaded.model.dispose();
    rmSync(outDir, { recursive: true, force: true });
  }
}

function expectSameStep(gpu: StepReport, cpu: ReturnType<typeof cpuReference>): void {
  expect(Math.abs(gpu.loss0 - cpu.loss0)).toBeLessThanOrEqual(LOSS_RTOL * Math.abs(cpu.loss0));
  expect(Object.keys(gpu.grads0).sort()).toEqual([...cpu.grads0.keys()].sort());
  for (const [name, want] of cpu.grads0) {
    const got = gpu.grads0[name];
    expect(got.length, name).toBe(want.length);
    let scale = 0;
    let diff = 0;
    for (let i = 0; i < want.length; i++) {
      scale = Math.max(scale, Math.abs(want[i]));
      diff = Math.max(diff, Math.abs(got[i] - want[i]));
    }
    expect(scale, `${name}: the reference gradient is all zero, so it checks nothing`).toBeGreaterThan(0);
    if (process.env.LORALAB_WEBGPU_REPORT) console.info(`${name}: max|Δg|/max|g| = ${(diff / scale).toExponential(2)}`);
    expect(diff, `${name}: max |Δg| against max |g| = ${scale}`).toBeLessThanOrEqual(GRAD_RTOL * scale);
  }
  if (process.env.LORALAB_WEBGPU_REPORT) console.info(`loss ${gpu.loss0} vs ${cpu.loss0}; curve ${gpu.losses.join(', ')} vs ${cpu.losses.join(', ')}; step seconds ${gpu.seconds.map((x) => x.toFixed(2)).join(', ')}`);
  expect(gpu.losses.length).toBe(cpu.losses.length);
  gpu.losses.forEach((l, k) => expect(Math.abs(l - cpu.losses[k]), `step ${k + 1}: ${l} vs ${cpu.losses[k]}`).toBeLessThanOrEqual(CURVE_RTOL * Math.abs(cpu.losses[k])));
  // the loss is the one value a step reads back from the GPU
  expect(gpu.downloads).toEqual(gpu.losses.map(() => 1));
}

/** LoRA on attention and MLP, both A and B non-zero from the start (initLoraWeights false), so every gradient is. */
const spec = (model: string, o: Partial<StepSpec>): StepSpec => ({
  model, records: RECORDS.slice(0, 2), maxLength: 48, batchSize: 2, steps: 3, seed: 0, lr: 1e-3, r: 4, loraAlpha: 8,
  targetModules: ['q_proj', 'v_proj', 'down_proj'], initLoraWeights: false, ...o,
});

describe('QLoRA step on WebGPU (Chromium)', () => {
  it('dequantizes 4-bit weights bit for bit as the CPU kernel does (NF4/FP4, blocksizes, double quant, row chunks) and rounds to bf16 as the CPU does', async (ctx) => {
    needsAdapter(ctx);
    const r = await call('dequantCheck');
    expect(r.adapter?.architecture ?? r.adapter?.vendor).toBeTruthy();
    expect(r.cases.length).toBe(10);
    for (const c of r.cases) {
      expect(c.chunks, c.name).toBeGreaterThan(1);
      expect([c.name, c.chunkedMismatches, c.wholeMismatches]).toEqual([c.name, 0, 0]);
    }
    expect(r.roundValues).toBeGreaterThan(4000);
    expect(r.roundMismatches).toBe(0);
  }, 120_000);

  it('on the tiny Gemma fixture: the CPU step\'s loss and LoRA gradients, and its loss curve over 3 steps', async (ctx) => {
    needsAdapter(ctx);
    const s = spec('gemma-tiny', {});
    const gpu = await call('runSteps', s);
    expectSameStep(gpu, cpuReference(s));
    expect(gpu.losses[2]).toBeLessThan(gpu.losses[0]);
  }, 300_000);

  it('on gemma-micro (whatever datasets/models/gemma-micro holds): the CPU step\'s loss, gradients and 2-step curve', async (ctx) => {
    needsAdapter(ctx);
    const s = spec('gemma-micro', { records: RECORDS.slice(0, 2), batchSize: 2, maxLength: 32, steps: 2, targetModules: ['q_proj', 'v_proj'] });
    expectSameStep(await call('runSteps', s), cpuReference(s));
  }, 400_000);

  it('releases GPU memory: tensors, bytes and the buffer manager\'s counts do not grow over 50 steps', async (ctx) => {
    needsAdapter(ctx);
    const s = spec('gemma-tiny', { records: RECORDS.slice(0, 1), batchSize: 1, maxLength: 44, steps: 50, targetModules: ['q_proj'] });
    const gpu = await call('runSteps', s);
    const [after2, last] = [gpu.memory[1], gpu.memory[49]];
    expect(last.numTensors).toBe(after2.numTensors);
    expect(last.numBytes).toBe(after2.numBytes);
    expect(last.numBytesInGPU).toBe(after2.numBytesInGPU);
    expect(last.usedBuffers).toBe(after2.usedBuffers);
    // the pool of free buffers is reused: it settles after the first steps' shapes have been seen
    expect(last.numBytesAllocatedInGPU).toBeLessThanOrEqual(gpu.memory[4].numBytesAllocatedInGPU * 1.01);
    expect(gpu.downloads.every((d) => d === 1)).toBe(true);
    expect(h!.errors).toEqual([]);
  }, 400_000);
});
