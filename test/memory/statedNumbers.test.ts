/**
 * Numbers the notebooks, drills and exercise READMEs state, recomputed by the library so that a wrong figure in the
 * teaching material fails a test: the adapter share of LLaMA-7B, the LoRA and QLoRA counts of the papers' settings,
 * GPT-3 175B modelled with its real (plain, 4d) MLP, and the reduction factors the LoRA paper quotes.
 */
import { describe, expect, it } from 'vitest';
import { predictMemory } from 'loralab/memory';
import { loraParameterCount, methodTable, methodTableByModules, namedConfig, totalParameters } from 'loralab/peft';

const GB = 1e9;
const qkvo = ['q_proj', 'k_proj', 'v_proj', 'o_proj'];

describe('LLaMA-7B (notebooks 1, 2 and 4; drills 1 and 2)', () => {
  const c = namedConfig('llama-7b')!;
  it('has 6,738,415,616 parameters', () => expect(totalParameters(c)).toBe(6_738_415_616));
  it('LoRA r=8 on q,k,v,o is 8,388,608 parameters, 0.12 % of the model; 0.30 % is the all-linear figure', () => {
    const n = loraParameterCount(c, { r: 8, targetModules: qkvo });
    expect(n).toBe(32 * 4 * 8 * (4096 + 4096));
    expect(n).toBe(8_388_608);
    expect(((100 * n) / totalParameters(c)).toFixed(2)).toBe('0.12');
    expect(((100 * loraParameterCount(c, { r: 8, targetModules: 'all-linear' })) / totalParameters(c)).toFixed(2)).toBe('0.30');
  });
});

describe('LLaMA-65B with QLoRA, r = 64 on every linear layer (notebook 8; drill 6)', () => {
  const c = namedConfig('llama-65b')!;
  const m = predictMemory(c, { method: 'qlora', r: 64, targetModules: 'all-linear', seqLen: 512 });
  it('trains 799.5M adapter parameters, whose weights, gradients and Adam states take 9.6 GB (2 + 2 + 8 bytes each)', () => {
    expect(m.parameters.adapters).toBe(799_539_200);
    expect(m.bytes.adapters / GB).toBeCloseTo(1.6, 1);
    expect(m.bytes.gradients / GB).toBeCloseTo(1.6, 1);
    expect(m.bytes.optimizerStates / GB).toBeCloseTo(6.4, 1);
    expect((m.bytes.adapters + m.bytes.gradients + m.bytes.optimizerStates) / GB).toBeCloseTo(9.59, 2);
  });
  it('totals 45.05 GB with the 4-bit base and activations, under the 48 GB of the paper', () => {
    expect(m.bytes.total / GB).toBeCloseTo(45.05, 2);
    expect((m.bytes.weights + m.bytes.quantizationConstants) / GB).toBeCloseTo(34.46, 2);
  });
});

describe('GPT-3 175B has a plain MLP of 4d (notebook 3; drill 3)', () => {
  const c = namedConfig('gpt3-175b')!;
  it('is modelled with up_proj [4d, d] and down_proj [d, 4d], no gate: 174.6B parameters', () => {
    expect(c.mlp).toBe('plain');
    expect(c.intermediateSize).toBe(4 * c.hiddenSize);
    expect(totalParameters(c)).toBe(96 * 12 * 12288 ** 2 + 50257 * 12288 + (2 * 96 + 1) * 12288);
  });
  it('LoRA r=8 on every linear layer is 169.9M parameters (a gated MLP of the same size would give 179.3M)', () => {
    const n = loraParameterCount(c, { r: 8, targetModules: 'all-linear' });
    expect(n).toBe(96 * 8 * (4 * 2 * 12288 + 2 * 5 * 12288));
    expect(n / 1e6).toBeCloseTo(169.9, 1);
    const gated = { ...c, mlp: 'gated' as const, intermediateSize: 32768 };
    expect(loraParameterCount(gated, { r: 8, targetModules: 'all-linear' }) / 1e6).toBeCloseTo(179.3, 1);
    expect(() => loraParameterCount(c, { r: 8, targetModules: ['gate_proj'] })).toThrow(/target module 'gate_proj' not found/);
  });
  it("r = 8 on Wq, Wv trains 4,624× fewer parameters; the paper's 10,000× is r = 4 on Wq, Wv (350 GB → 35 MB checkpoint)", () => {
    const full = totalParameters(c);
    const r8 = loraParameterCount(c, { r: 8, targetModules: ['q_proj', 'v_proj'] });
    expect(Math.round(full / r8)).toBe(4624);
    const r4 = loraParameterCount(c, { r: 4, targetModules: ['q_proj', 'v_proj'] });
    expect(r4).toBe(18_874_368);
    expect((2 * r4) / 1e6).toBeCloseTo(37.7, 1); // a 16-bit checkpoint of about 35 MB against 350 GB
    expect(Math.round(full / r4)).toBe(9249); // "roughly 10,000×"
    expect(full / r4).toBeGreaterThan(9000);
  });
  it('is counted by formula; building its module tree (Gemma layers, gated) is refused', () => {
    expect(methodTable(c, { r: 8, targetModules: 'all-linear' })[1].trainable).toBe(169_869_312);
    expect(() => methodTableByModules(c, { r: 8, targetModules: 'all-linear' })).toThrow(/plain two-matrix MLP: count it with methodTable/);
  });
});
