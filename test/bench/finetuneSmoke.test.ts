/**
 * The fine-tuning runner end to end on the tiny Gemma fixture, in a few steps: a 2-point learning-rate grid, the
 * base and one LoRA run evaluated with every SQL metric, a forgetting measurement and one planted-rank student; then
 * a second call that skips every finished run, and a run interrupted mid-training that resumes from its checkpoint.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsReader } from 'loralab/io';
import { toFloat32 } from 'loralab/quant';

const ROOT = join(import.meta.dirname, '..', '..');
const out = mkdtempSync(join(tmpdir(), 'loralab-finetune-'));
const runs = join(out, 'finetune-runs');
const args = ['--only=headline,rank-fixed-r8,forgetting-lora-r8,planted-lora-r1', '--base', join(ROOT, 'test', 'fixtures', 'gemma-tiny'), '--steps', '4', '--grid-steps', '2', '--seeds', '1', '--methods', 'lora',
  '--ranks', '1,8', '--grid-points', '2', '--eval-limit', '3', '--max-new-tokens', '6', '--batch-size', '2', '--corpus-texts', '2', '--planted-questions', '6', '--out', out];
const runner = (extra: string[] = []) => spawnSync(process.execPath, [join(ROOT, 'bench', 'finetune.mjs'), ...args, ...extra], { encoding: 'utf8', timeout: 280_000 });
const summary = () => JSON.parse(readFileSync(join(out, 'finetune.json'), 'utf8'));

// About 30 s of CPU in all; the time limits leave room for a machine shared with other work.
describe('npm run bench -- finetune, as a smoke test', { timeout: 300_000 }, () => {
  it('runs the tiny plan: grid, choice, headline with every metric, PEFT adapter, forgetting, planted rank', () => {
    const r = runner();
    expect(r.status, r.stderr).toBe(0);
    const s = summary();
    expect(s.runs.map((x: { name: string }) => x.name)).toEqual(['grid-lora-r8-lr0.003', 'grid-lora-r8-lr0.01', 'base', 'lora-r8-s0', 'rank-fixed-r8', 'forgetting-base', 'forgetting-lora-r8', 'planted-teacher', 'planted-lora-r1']);
    const grid = s.learningRates['lora-r8'];
    expect(grid.grid.map((p: { lr: number }) => p.lr)).toEqual([0.003, 0.01]);
    expect([0.003, 0.01]).toContain(grid.chosen);
    const lora = s.runs.find((x: { name: string }) => x.name === 'lora-r8-s0');
    expect(lora.lr).toBe(grid.chosen);
    for (const k of ['executionAccuracy', 'testSuiteAccuracy', 'exactMatch', 'skeletonMatch']) expect(typeof lora[k], k).toBe('number');
    expect(lora.metrics.testSuite.ci95).toHaveLength(2);
    expect(lora.testSuite).toEqual({ variants: 4, seeds: [20241129, 20241130, 20241131, 20241132] });
    expect(s.headline['lora-r8'].testSuiteAccuracy).toMatchObject({ n: 1, ci95: null });
    // r = 8, α = 16 in the fixed-α sweep is the headline LoRA's training: reused, not repeated
    const fixed8 = s.runs.find((x: { name: string }) => x.name === 'rank-fixed-r8');
    expect(fixed8).toMatchObject({ sameAs: 'lora-r8-s0', testSuiteAccuracy: lora.testSuiteAccuracy, group: 'rank-fixed-alpha' });
    expect(s.rankSweeps.fixedAlpha.map((x: { r: number }) => x.r)).toEqual([8]);
    const report = JSON.parse(readFileSync(join(runs, 'lora-r8-s0', 'eval-report.json'), 'utf8'));
    expect(report.examples).toHaveLength(3);
    expect(report.examples[0]).toHaveProperty('goldLiterals');
    expect(report.examples[0]).toHaveProperty('predictedLiterals');
    expect(readdirSync(join(runs, 'lora-r8-s0', 'adapter')).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    expect(JSON.parse(readFileSync(join(runs, 'lora-r8-s0', 'adapter', 'adapter_config.json'), 'utf8'))).toMatchObject({ peft_type: 'LORA', r: 8, lora_alpha: 16 });
    const f = s.forgetting['lora-r8-s0'];
    expect(f.corpusLossAfter).toBeGreaterThan(0);
    expect(f.increase).toBeCloseTo(f.corpusLossAfter - f.corpusLossBefore, 12);
    // the teacher carries the planted ΔW: ‖W_teacher − W_base‖_F = 2 ‖W_base‖_F on q_proj and v_proj, nothing else moved
    const teacher = SafetensorsReader.open(join(runs, 'planted-teacher', 'model', 'model.safetensors'));
    const base = SafetensorsReader.open(join(ROOT, 'test', 'fixtures', 'gemma-tiny', 'model.safetensors'));
    const norm = (a: Float32Array) => Math.sqrt(a.reduce((t, x) => t + x * x, 0));
    for (const name of base.names()) {
      const w = toFloat32(base.read(name));
      const d = toFloat32(teacher.read(name)).map((x, i) => x - w[i]);
      if (/self_attn\.(q|v)_proj\.weight$/.test(name)) expect(norm(d) / norm(w), name).toBeCloseTo(2, 2);
      else expect(norm(d), name).toBeLessThan(1e-2 * Math.max(1, norm(w)));
    }
    expect(s.planted.curve).toHaveLength(1);
    expect(s.planted.curve[0].kl).toBeGreaterThanOrEqual(0);
    expect(s.command).toMatch(/^node bench\/finetune\.mjs --only=headline/);
    expect(s.machine.cores).toBeGreaterThan(0);
  });

  it('a second call skips every finished run and reports the same results', () => {
    const before = summary().runs;
    const r = runner();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr.match(/^finetune: skip /gm)).toHaveLength(9);
    expect(r.stderr).not.toMatch(/^finetune: run /m);
    expect(summary().runs).toEqual(before);
  });

  it('an interrupted run resumes from its last trainer checkpoint, then is evaluated', () => {
    const dir = join(runs, 'lora-r8-s0');
    const train = join(dir, 'train');
    // as if killed after the next-to-last checkpoint: `latest` names it, no later checkpoint, no final adapter, no result
    const checkpoints = readdirSync(train).filter((f) => /^checkpoint-\d+$/.test(f)).sort();
    expect(checkpoints.length).toBeGreaterThanOrEqual(2);
    const resumeFrom = checkpoints.at(-2) as string;
    writeFileSync(join(train, 'latest'), `${resumeFrom}\n`);
    for (const f of [checkpoints.at(-1) as string, 'summary.json', 'adapter']) rmSync(join(train, f), { recursive: true, force: true });
    for (const f of ['result.json', 'eval-report.json', 'adapter', 'train.log']) rmSync(join(dir, f), { recursive: true, force: true });
    const r = runner();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^finetune: run lora-r8-s0 /m);
    expect(r.stderr.match(/^finetune: skip /gm)).toHaveLength(8); // the 8 others, forgetting-base included
    expect(readFileSync(join(dir, 'train.log'), 'utf8')).toContain(`resumed from step ${Number(resumeFrom.slice('checkpoint-'.length))}`);
    expect(existsSync(join(dir, 'eval-report.json'))).toBe(true);
    expect(existsSync(join(dir, 'adapter', 'adapter_model.safetensors'))).toBe(true);
  });

  it('refuses to count a finished run made with other settings, naming the folder and both settings', () => {
    const r = runner(['--steps', '3']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^finetune: error: .*lora-r8-s0\/result\.json was made with \{"baseSha256":"[0-9a-f]{64}","steps":4,.*this plan runs \{.*"steps":3,.*move that run folder away/m);
  });
});
