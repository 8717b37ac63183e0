/** The fine-tuning plan as data (bench/finetune/plan.mjs) and the runner's option parsing and summaries. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildPlan, GROUPS, loraParamsPerRank, rsloraAsPlainAlpha, RSLORA_ALPHA, targetAblation } from '../../bench/finetune/plan.mjs';
import { parseOptions, selectRuns } from '../../bench/finetune.mjs';
import { chooseLearningRates, novelLiteralAccuracy } from '../../bench/finetune/summary.mjs';

const ROOT = join(import.meta.dirname, '..', '..');
const micro = JSON.parse(readFileSync(join(ROOT, 'datasets', 'models', 'gemma-micro', 'config.json'), 'utf8'));

describe('the plan', () => {
  const plan = buildPlan(micro);
  const group = (g: string) => plan.filter((r) => r.group === g);
  it('has every group, each run named once', () => {
    expect(new Set(plan.map((r) => r.group))).toEqual(new Set(GROUPS));
    expect(new Set(plan.map((r) => r.name)).size).toBe(plan.length);
  });
  it('headline: the pre-trained base and five methods × 3 seeds, each with a tuned learning rate from a 4-point grid', () => {
    expect(group('headline').map((r) => r.name)).toEqual(['base', ...['lora-r8', 'qlora-r8', 'full', 'adapter-r8', 'prefix-r8'].flatMap((n) => [0, 1, 2].map((s) => `${n}-s${s}`))]);
    expect(group('headline').filter((r) => r.method).every((r) => r.lr === 'tuned')).toBe(true);
    expect(group('lr-grid')).toHaveLength(5 * 4);
  });
  it('rank sweeps r = 1…64 under fixed α, α = 2r and rsLoRA (γ = α/√r written as lora_alpha = α√r)', () => {
    const gammas = (g: string) => group(g).map((r) => (r.loraAlpha ?? 0) / (r.r ?? 1));
    expect(group('rank-fixed-alpha').map((r) => r.r)).toEqual([1, 2, 4, 8, 16, 32, 64]);
    expect(gammas('rank-fixed-alpha')).toEqual([16, 8, 4, 2, 1, 0.5, 0.25]);
    expect(gammas('rank-alpha-2r')).toEqual([2, 2, 2, 2, 2, 2, 2]);
    const rs = group('rank-rslora');
    rs.forEach((r) => expect((r.loraAlpha ?? 0) / (r.r ?? 1)).toBeCloseTo(RSLORA_ALPHA / Math.sqrt(r.r ?? 1), 12));
    expect(rsloraAsPlainAlpha(RSLORA_ALPHA, 8) / 8).toBeCloseTo(2, 12); // r = 8 as the headline LoRA
  });
  it('target modules at comparable trainable parameters (within 15 % of all-linear r = 2)', () => {
    const rows = targetAblation(micro);
    expect(rows.map((r) => r.targets)).toEqual(['q_proj,v_proj', 'q_proj,k_proj,v_proj,o_proj', 'all-linear']);
    // gemma-micro: 4 layers, hidden 256, q 256, k/v 64, MLP 768: all-linear has 4 · 4736 parameters per unit of rank
    expect(loraParamsPerRank(micro, 'all-linear')).toBe(18944);
    for (const r of rows) expect(Math.abs(r.trainableParameters / 37888 - 1)).toBeLessThan(0.15);
  });
  it('forgetting reads the seed-0 full, LoRA and QLoRA runs; planted students read the teacher', () => {
    expect(group('forgetting').map((r) => r.of ?? null)).toEqual([null, 'full-s0', 'lora-r8-s0', 'qlora-r8-s0']);
    expect(group('forgetting').slice(1).every((r) => r.needs?.[0] === 'forgetting-base')).toBe(true);
    expect(group('planted').map((r) => r.name)).toEqual(['planted-teacher', ...[1, 2, 4, 8, 16, 32, 64].map((r) => `planted-lora-r${r}`), 'planted-full']);
  });
  it('trains each distinct configuration once: repeats read the first run with it', () => {
    const same = plan.filter((r) => r.sameAs).map((r) => [r.name, r.sameAs]);
    expect(same).toEqual([
      ['rank-fixed-r8', 'lora-r8-s0'],
      ['rank-2r-r8', 'lora-r8-s0'],
      ['rank-rslora-r8', 'lora-r8-s0'],
      ['targets-all-r2', 'rank-2r-r2'],
    ]);
  });
  it('shrinks to a smoke test with the same code', () => {
    const tiny = buildPlan(micro, { seeds: [0], methods: ['lora'], ranks: [1, 2], gridPoints: 2 });
    expect(tiny.filter((r) => r.group === 'lr-grid').map((r) => r.lr)).toEqual([3e-3, 1e-2]);
    expect(tiny.filter((r) => r.group === 'headline').map((r) => r.name)).toEqual(['base', 'lora-r8-s0']);
  });
});

describe('options and summaries', () => {
  it('parses --name value and --name=value, and refuses bad values naming the flag', () => {
    const o = parseOptions(['finetune', '--only=headline', '--steps', '20', '--seeds=1', '--methods', 'lora,qlora'], {});
    expect(o).toMatchObject({ only: ['headline'], steps: 20, gridSteps: 4, seeds: [0], methods: ["lora", "qlora"] });
    // gemma-micro's tokenizer spells every task example in ≤ 128 tokens and every query in ≤ 96: the defaults stay
    expect(o).toMatchObject({ maxLength: 128, maxNewTokens: 96 });
    expect(parseOptions(['--max-length=192', '--max-new-tokens', '160'], {})).toMatchObject({ maxLength: 192, maxNewTokens: 160 });
    expect(() => parseOptions(['--steps', 'abc'], {})).toThrow("finetune: --steps must be an integer >= 1 (got 'abc')");
    expect(() => parseOptions(['--methods', 'dora'], {})).toThrow(/--methods: 'dora' is not one of lora, qlora, full, adapter, prefix/);
    expect(() => parseOptions(['--rank', '8'], {})).toThrow(/unknown option --rank/);
    expect(() => parseOptions(['--base', '/nonexistent'], {})).toThrow(/--base \/nonexistent: no config\.json/);
  });
  it('--only picks groups, headline configurations at every seed, and run names; anything else is refused', () => {
    const plan = buildPlan(micro);
    expect(selectRuns(plan, ['lora-r8', 'rank-fixed-r4', 'targets']).map((r) => r.name)).toEqual(['lora-r8-s0', 'lora-r8-s1', 'lora-r8-s2', 'rank-fixed-r4', 'targets-qv-r11', 'targets-qkvo-r6', 'targets-all-r2']);
    expect(selectRuns(plan, null)).toHaveLength(plan.length);
    expect(() => selectRuns(plan, ['lora-r9'])).toThrow(/--only: lora-r9 is neither a group \(lr-grid, /);
  });
  it('chooses the learning rate with the lowest validation loss; a diverged point never wins', () => {
    const g = chooseLearningRates([
      { group: 'lr-grid', name0: 'lora-r8', lr: 1e-2, finalEvalLoss: 0.9 },
      { group: 'lr-grid', name0: 'lora-r8', lr: 3e-3, finalEvalLoss: 0.7 },
      { group: 'lr-grid', name0: 'lora-r8', lr: 3e-2, finalEvalLoss: null, diverged: true },
    ]);
    expect(g['lora-r8'].chosen).toBe(3e-3);
    expect(g['lora-r8'].grid.map((p) => p.lr)).toEqual([3e-3, 1e-2, 3e-2]);
  });
  it('novel-literal accuracy counts the questions that need a value no training SQL has', () => {
    const ex = (goldLiterals: string[], testSuiteMatch: boolean) => ({ goldLiterals, testSuiteMatch, executionMatch: testSuiteMatch });
    const r = novelLiteralAccuracy({ testSuite: { variants: 4, seeds: [1] }, examples: [ex(["'Oslo'"], true), ex(['1133'], true), ex(['1134'], false)] }, new Set(["'Oslo'"]));
    expect(r).toMatchObject({ metric: 'test-suite execution', correct: 1, n: 2 });
  });
});
