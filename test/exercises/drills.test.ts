/**
 * The interview drills: every file validates against the schema, there are at least 60 questions over the eight
 * sections, every numeric answer the library can compute is recomputed here (so it can never be wrong), answers are
 * graded as documented, and the terminal quiz runs on piped answers.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { namedConfig, loraParameterCount } from 'loralab/peft';
import { predictMemory } from 'loralab/memory';
import { BottleneckAdapter, PrefixKV, loraScaling } from 'loralab/layers';
import { NF4_CODE, bitsPerParameter, quantize4bit } from 'loralab/quant';
// @ts-expect-error plain ESM module without types
import { gradeAnswer, loadDrills, parseNumber } from '../../exercises/drills/drills.mjs';

const root = join(import.meta.dirname, '../..');
type Q = { id: string; type: 'mcq' | 'numeric' | 'short'; answer?: number; tolerance?: { kind: string; value: number }; compute?: { fn: string; args: Record<string, unknown> } };
const sections = loadDrills() as { section: number; questions: Q[] }[];
const all = sections.flatMap((s) => s.questions);

const cfg = (a: Record<string, unknown>) => namedConfig(a.model as string)!;
const COMPUTE: Record<string, (a: Record<string, unknown>) => number> = {
  fullFineTuneGB: (a) => { const b = predictMemory(cfg(a), { method: 'full' }).bytes; return (b.weights + b.gradients + b.optimizerStates) / 1e9; },
  kvCacheKiBPerToken: (a) => { const c = cfg(a); return (2 * c.numHiddenLayers * c.numKeyValueHeads * c.headDim * 2) / 1024; },
  loraParams: (a) => loraParameterCount(cfg(a), { r: a.r as number, loraAlpha: a.r as number, targetModules: a.targets as string[] | string }),
  scaling: (a) => loraScaling(a.r as number, a.alpha as number, a.rslora as boolean),
  adapterParams: (a) => BottleneckAdapter.parameterCount(a.hidden as number, a.bottleneck as number),
  adaptersForModel: (a) => (a.layers as number) * 2 * BottleneckAdapter.parameterCount(a.hidden as number, a.bottleneck as number),
  prefixParams: (a) => PrefixKV.parameterCount(a.layers as number, a.tokens as number, a.kvDim as number),
  bitsPerParam: (a) => bitsPerParameter(quantize4bit(Float32Array.from({ length: (a.blocksize as number) * 256 * 4 }, (_, i) => Math.sin(i)), { blocksize: a.blocksize as number, doubleQuant: a.doubleQuant as boolean }).state).total,
  nf4: (a) => NF4_CODE[a.code as number],
  memoryGB: (a) => predictMemory(cfg(a), { method: a.method as 'full', r: a.r as number | undefined, targetModules: a.targets as string | undefined }).bytes.total / 1e9,
};

describe('drills', () => {
  it('cover the eight sections with at least 60 questions of the three kinds', () => {
    expect(sections.map((s) => s.section)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(all.length).toBeGreaterThanOrEqual(60);
    for (const s of sections) expect(s.questions.length).toBeGreaterThanOrEqual(6);
    expect(new Set(all.map((q) => q.type))).toEqual(new Set(['mcq', 'numeric', 'short']));
    expect(new Set(all.map((q) => q.id)).size).toBe(all.length);
  });

  it('every numeric answer that the library can compute agrees with it', () => {
    const computed = all.filter((q) => q.compute);
    expect(computed.length).toBeGreaterThanOrEqual(15);
    for (const q of computed) {
      const fn = COMPUTE[q.compute!.fn];
      expect(fn, `${q.id}: unknown compute function '${q.compute!.fn}'`).toBeDefined();
      const v = fn(q.compute!.args);
      const tol = q.tolerance!.kind === 'relative' ? q.tolerance!.value * Math.abs(v) : q.tolerance!.value;
      expect(Math.abs(q.answer! - v), `${q.id}: stated ${q.answer}, the library computes ${v}`).toBeLessThanOrEqual(tol + 1e-9 * Math.abs(v));
    }
  });

  it('a malformed file is rejected with its name and the failing field', () => {
    const d = mkdtempSync(join(tmpdir(), 'loralab-drills-'));
    copyFileSync(join(root, 'exercises/drills/schema.json'), join(d, 'schema.json'));
    writeFileSync(join(d, 'section-1.json'), JSON.stringify({ section: 1, title: 'Why', notebook: 'notebooks/01-x.ipynb', questions: [{ id: '1.1', type: 'numeric', prompt: 'How many bytes?', answer: 'twelve', tolerance: { kind: 'absolute', value: 0 }, unit: 'B', worked: '2+2+8' }] }));
    expect(() => loadDrills(d)).toThrow(/section-1\.json: \/questions/);
  });

  it('grades answers as documented', () => {
    const mcq = all.find((q) => q.id === '6.2')!;
    expect(gradeAnswer(mcq, 'a').correct).toBe(true);
    expect(gradeAnswer(mcq, 'B')).toMatchObject({ correct: false, feedback: expect.stringMatching(/The answer is A/) });
    const num = all.find((q) => q.id === '3.3')!;
    expect(gradeAnswer(num, '4,194,304').correct).toBe(true);
    expect(gradeAnswer(num, '4194305').correct).toBe(false);
    expect(parseNumber('4.2e19 FLOPs')).toBe(4.2e19);
    const short = all.find((q) => q.id === '2.7')!;
    expect(gradeAnswer(short, 'gradients, Adam optimizer states and stored activations').correct).toBe(true);
    expect(gradeAnswer(short, 'more GPUs').correct).toBe(false);
  });

  it('npm run drill: a terminal quiz on piped answers, wrong answers repeated, a score at the end', () => {
    const r = spawnSync(process.execPath, [join(root, 'exercises/drills/drill.mjs'), '--section', '6', '--count', '2', '--seed', '1'], { input: 'Z\nZ\nZ\nZ\n', encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/2 questions from section 6/);
    expect(r.stdout).toMatch(/\(again\) \[6\./);
    expect(r.stdout).toMatch(/score: 0\/2 on the first try \(0 %\)/);
    expect(spawnSync(process.execPath, [join(root, 'exercises/drills/drill.mjs'), '--section', '9'], { encoding: 'utf8' }).stderr).toMatch(/--section must be one of 1, 2, 3, 4, 5, 6, 7, 8/);
  });
});
