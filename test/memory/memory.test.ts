import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { predictMemory } from 'loralab/memory';
import { namedConfig } from 'loralab/peft';

const GB = 1e9;
const CLI = join(import.meta.dirname, '..', '..', 'lib', 'dist', 'cli', 'main.js');

describe('memory prediction (the papers arithmetic)', () => {
  const c65 = namedConfig('llama-65b')!;
  it('full 16-bit fine-tuning of a 65B model needs more than 780 GB: 12 bytes per parameter before activations', () => {
    const m = predictMemory(c65, { method: 'full', seqLen: 512 });
    expect(m.parameters.total).toBeGreaterThan(65e9);
    expect(m.bytes.weights + m.bytes.gradients + m.bytes.optimizerStates).toBe(12 * m.parameters.total);
    expect(m.bytes.total).toBeGreaterThan(780 * GB);
  });
  it('QLoRA (NF4, double quantization, r = 64 on all linear layers) fits the 65B model under 48 GB', () => {
    const m = predictMemory(c65, { method: 'qlora', r: 64, targetModules: 'all-linear', seqLen: 512 });
    expect(m.bytes.total).toBeLessThan(48 * GB);
    expect(m.bytes.total).toBeGreaterThan(40 * GB);
    // double quantization: 0.127 instead of 0.5 bits per parameter of constants, about 3 GB saved
    const noDq = predictMemory(c65, { method: 'qlora', r: 64, targetModules: 'all-linear', seqLen: 512, doubleQuant: false });
    expect((noDq.bytes.quantizationConstants - m.bytes.quantizationConstants) / GB).toBeCloseTo((m.parameters.linear * 0.373046875) / 8 / GB, 6);
    expect(noDq.bytes.quantizationConstants - m.bytes.quantizationConstants).toBeGreaterThan(2.9 * GB);
  });
  it('LoRA trains a sliver of the parameters but keeps 16-bit weights; gradient checkpointing shrinks activations', () => {
    const c7 = namedConfig('llama-7b')!;
    const full = predictMemory(c7, { method: 'full' });
    const lora = predictMemory(c7, { method: 'lora', r: 8 });
    const qlora = predictMemory(c7, { method: 'qlora', r: 8 });
    expect(lora.bytes.weights).toBe(full.bytes.weights);
    expect(lora.bytes.optimizerStates).toBe(8 * lora.parameters.adapters);
    expect(qlora.bytes.weights).toBeLessThan(lora.bytes.weights / 3);
    const ck = predictMemory(c7, { method: 'lora', r: 8, seqLen: 2048, gradientCheckpointing: true });
    const noCk = predictMemory(c7, { method: 'lora', r: 8, seqLen: 2048, gradientCheckpointing: false });
    expect(ck.bytes.activations).toBeLessThan(noCk.bytes.activations / 5);
  });
  it('in LoRA Lab (float32 TF.js), full fine-tuning of Gemma-2B does not fit this 24 GiB machine; QLoRA does', () => {
    const g = namedConfig('gemma-2b')!;
    expect(predictMemory(g, { method: 'full', runtime: 'loralab', seqLen: 128 }).bytes.total).toBeGreaterThan(24 * 2 ** 30);
    expect(predictMemory(g, { method: 'qlora', runtime: 'loralab', seqLen: 128 }).bytes.total).toBeLessThan(8 * 2 ** 30);
  });
  it('predicts the peak of the last measured Gemma-2B QLoRA step (bench/results/gemma2b-step.json) within 10%', () => {
    // the committed measurement: re-run `npm run bench -- gemma2b-step` after changing how LoRA Lab uses memory
    const bench = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'bench', 'results', 'gemma2b-step.json'), 'utf8')) as {
      measured: { seqLen: number; batchSize: number; r: number; targets: string; gradientCheckpointing: boolean; peakRssBytes: number };
    };
    const m = bench.measured;
    const p = predictMemory(namedConfig('gemma-2b')!, {
      method: 'qlora', runtime: 'loralab', r: m.r, targetModules: m.targets.split(','), seqLen: m.seqLen, batchSize: m.batchSize, gradientCheckpointing: m.gradientCheckpointing,
    });
    expect(Math.abs(p.bytes.total / m.peakRssBytes - 1)).toBeLessThan(0.1);
  });
});

describe('loralab memory', () => {
  it('prints the components and what the total fits in', () => {
    const r = spawnSync(process.execPath, [CLI, 'memory', '--model', 'llama-65b', '--method', 'qlora', '--r', '64', '--target-modules', 'all-linear'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    for (const k of ['weights', 'quantization constants', 'adapters', 'gradients', 'optimizer states', 'activations', 'total']) expect(r.stdout).toContain(k);
    expect(r.stdout).toMatch(/a 48 GB GPU yes/);
    const j = JSON.parse(spawnSync(process.execPath, [CLI, 'memory', '--model', 'gpt3-175b', '--method', 'full', '--json'], { encoding: 'utf8' }).stdout);
    expect(j.parameters.total).toBeGreaterThan(174e9);
    expect(spawnSync(process.execPath, [CLI, 'memory', '--model', 'gemma-2b', '--method', 'ia3'], { encoding: 'utf8' }).stderr).toMatch(/--method must be full, lora or qlora/);
  });
});
