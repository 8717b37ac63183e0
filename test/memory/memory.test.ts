import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { totalmem } from 'node:os';
import { predictMemory } from 'loralab/memory';
import { namedConfig } from 'loralab/peft';

const GB = 1e9;
const CLI = join(import.meta.dirname, '..', '..', 'lib', 'dist', 'cli', 'main.js');

describe('memory prediction (the papers arithmetic)', () => {
  const c65 = namedConfig('llama-65b')!;
  it('full 16-bit fine-tuning of a 65B model needs more than 780 GB: 12 bytes per parameter in pure bf16 (the QLoRA paper)', () => {
    const m = predictMemory(c65, { method: 'full', seqLen: 512, precision: 'bf16' });
    expect(m.parameters.total).toBeGreaterThan(65e9);
    expect(m.bytes.masterWeights).toBe(0);
    expect(m.bytes.weights + m.bytes.gradients + m.bytes.optimizerStates).toBe(12 * m.parameters.total);
    expect(m.bytes.total).toBeGreaterThan(780 * GB);
  });
  it('mixed precision (the default) adds a float32 master copy: 16 bytes per parameter, LLaMA-7B about 108 GB', () => {
    const c7 = namedConfig('llama-7b')!;
    const m = predictMemory(c7, { method: 'full' });
    expect(m).toEqual(predictMemory(c7, { method: 'full', precision: 'mixed' }));
    expect(m.bytes.masterWeights).toBe(4 * m.parameters.total);
    const states = m.bytes.weights + m.bytes.masterWeights + m.bytes.gradients + m.bytes.optimizerStates;
    expect(states).toBe(16 * m.parameters.total);
    expect(states / GB).toBeCloseTo(107.8, 1); // 6,738,415,616 × 16 B
    const bf16 = predictMemory(c7, { method: 'full', precision: 'bf16' });
    expect((bf16.bytes.total - bf16.bytes.activations) / GB).toBeCloseTo(80.9, 1); // the 12-byte figure
    // the master copy exists only for full fine-tuning on a GPU: LoRA's adapters are float32 already, LoRA Lab is float32
    expect(predictMemory(c7, { method: 'lora' }).bytes.masterWeights).toBe(0);
    expect(predictMemory(c7, { method: 'full', runtime: 'loralab' }).bytes.masterWeights).toBe(0);
    expect(() => predictMemory(c7, { method: 'full', precision: 'fp8' as never })).toThrow(/precision must be 'mixed' or 'bf16' \(got 'fp8'\)/);
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
  const mem = (args: string[]) => spawnSync(process.execPath, [CLI, 'memory', ...args], { encoding: 'utf8' });
  it('prints the components under labelled columns, and which GPU the pytorch total fits on', () => {
    const r = mem(['--model', 'llama-65b', '--method', 'qlora', '--r', '64', '--target-modules', 'all-linear']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^component\s+bytes\s+GB \(10\^9 B\)\s+GiB \(2\^30 B\)$/m);
    for (const k of ['weights', 'quantization constants', 'adapters', 'gradients', 'optimizer states', 'activations', 'total']) expect(r.stdout).toMatch(new RegExp(`^${k}\\s+[\\d,]+\\s+\\d+\\.\\d\\d\\s+\\d+\\.\\d\\d$`, 'm'));
    // every column agrees with the prediction
    const total = predictMemory(namedConfig('llama-65b')!, { method: 'qlora', r: 64, targetModules: 'all-linear' }).bytes.total;
    expect(r.stdout).toMatch(new RegExp(`^total\\s+${Math.round(total).toLocaleString('en-US')}\\s+${(total / GB).toFixed(2)}\\s+${(total / 2 ** 30).toFixed(2)}$`, 'm'));
    expect(r.stdout).toContain("fits on a 24 GB GPU: no; on a 48 GB GPU: yes; on an 80 GB GPU: yes (one GPU's memory, PyTorch; --runtime loralab for this machine)");
    expect(r.stdout).not.toMatch(/RAM|this machine yes/);
  });
  it("with --runtime loralab, says whether it fits in this machine's RAM and names its size", () => {
    const r = mem(['--model', 'gemma-2b', '--method', 'full', '--runtime', 'loralab']);
    expect(r.status).toBe(0);
    const fits = predictMemory(namedConfig('gemma-2b')!, { method: 'full', runtime: 'loralab' }).bytes.total <= totalmem() ? 'yes' : 'no'; // 41 GB: no on this 24 GiB machine
    expect(r.stdout).toMatch(new RegExp(`fits in this machine's RAM \\(${(totalmem() / 2 ** 30).toFixed(1)} GiB\\): ${fits} \\(LoRA Lab on the CPU; --runtime pytorch for GPUs\\)`));
    expect(r.stdout).not.toMatch(/GB GPU/);
  });
  it("uses and prints the one default target modules (PEFT's default for Gemma) and refuses unknown ones", () => {
    const r = mem(['--model', 'gemma-2b', '--method', 'lora']);
    expect(r.stdout).toContain("target modules: q_proj, v_proj (PEFT's default for Gemma)");
    expect(r.stdout).toContain('921,600 adapter parameters');
    const dflt = predictMemory(namedConfig('gemma-2b')!, { method: 'lora' });
    expect(dflt).toEqual(predictMemory(namedConfig('gemma-2b')!, { method: 'lora', targetModules: ['q_proj', 'v_proj'] }));
    const bad = mem(['--model', 'llama-7b', '--method', 'qlora', '--target-modules', 'q_proj,gate']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^loralab: error: --target-modules q_proj,gate: target module 'gate' not found in the base model \(did you mean gate_proj\?\); its linear layers are q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj/);
    expect(() => predictMemory(namedConfig('llama-7b')!, { method: 'lora', targetModules: ['gate'] })).toThrow(/target module 'gate' not found in the base model/);
    expect(mem(['--model', 'gemma-2b', '--method', 'full']).stdout).not.toMatch(/target modules/); // nothing is targeted
  });
  it('full fine-tuning shows both accountings, the chosen one (--precision) in the table', () => {
    const c7 = namedConfig('llama-7b')!;
    const mixed = mem(['--model', 'llama-7b', '--method', 'full']);
    expect(mixed.status).toBe(0);
    expect(mixed.stdout).toMatch(/^llama-7b, full \(mixed\), pytorch runtime/m);
    expect(mixed.stdout).toMatch(/^master weights \(float32\)\s+26,953,662,464\s/m);
    const t = (p: 'mixed' | 'bf16') => (predictMemory(c7, { method: 'full', precision: p }).bytes.total / GB).toFixed(2);
    expect(mixed.stdout).toContain(`  * mixed: ${t('mixed')} GB total — mixed precision, 16 B/param`);
    expect(mixed.stdout).toContain(`    bf16: ${t('bf16')} GB total — pure bf16, 12 B/param`);
    const bf16 = mem(['--model', 'llama-7b', '--method', 'full', '--precision', 'bf16']);
    expect(bf16.stdout).not.toMatch(/^master weights/m);
    expect(bf16.stdout).toContain(`  * bf16: ${t('bf16')} GB total`);
    const j = JSON.parse(mem(['--model', 'llama-7b', '--method', 'full', '--precision', 'bf16', '--json']).stdout);
    expect(j.precision).toBe('bf16');
    expect(j.accountings.map((a: { precision: string }) => a.precision)).toEqual(['mixed', 'bf16']);
    expect(mem(['--model', 'llama-7b', '--method', 'lora']).stdout).not.toMatch(/accountings|master weights/);
    expect(mem(['--model', 'llama-7b', '--method', 'full', '--precision', 'fp32']).stderr).toBe("loralab: error: --precision must be one of mixed, bf16 (got 'fp32')\n");
  });
  it('refuses bad values in one line', () => {
    const j = JSON.parse(mem(['--model', 'gpt3-175b', '--method', 'full', '--json']).stdout);
    expect(j.parameters.total).toBeGreaterThan(174e9);
    expect(mem(['--model', 'gemma-2b', '--method', 'ia3']).stderr).toBe("loralab: error: --method must be one of full, lora, qlora (got 'ia3')\n");
  });
});
