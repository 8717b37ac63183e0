// bench/results/finetune.json from the runs' results: the learning-rate grids and their choices, the headline methods
// as mean ± 95 % CI over seeds, the rank sweeps, the target-module ablation, forgetting and the planted-rank curve.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { meanInterval, rate, sqlLiterals } from '../../lib/dist/sql/index.js';

/** Each grid's points and its choice: the learning rate with the lowest final validation loss (diverged ones lose). */
export function chooseLearningRates(results) {
  const grids = {};
  for (const r of results.filter((x) => x.group === 'lr-grid')) (grids[r.name0] ??= []).push({ lr: r.lr, validLoss: r.finalEvalLoss, diverged: Boolean(r.diverged) });
  return Object.fromEntries(Object.entries(grids).map(([k, pts]) => {
    pts.sort((a, b) => a.lr - b.lr);
    const ok = pts.filter((p) => Number.isFinite(p.validLoss));
    const best = ok.reduce((b, p) => (b === null || p.validLoss < b.validLoss ? p : b), null);
    return [k, { grid: pts, chosen: best?.lr ?? null, by: 'lowest validation loss (valid split, first 64 examples) after the grid steps' }];
  }));
}

const METRICS = ['testSuiteAccuracy', 'executionAccuracy', 'exactMatch', 'literalAccuracy', 'skeletonMatch'];

/** Mean ± CI over seeds of every SQL metric, for each headline method. */
function headline(results) {
  const by = {};
  for (const r of results.filter((x) => x.group === 'headline')) (by[r.name0 ?? r.name] ??= []).push(r);
  return Object.fromEntries(Object.entries(by).map(([k, rs]) => [k, {
    seeds: rs.map((r) => r.seed),
    lr: rs[0].lr,
    trainableParameters: rs[0].trainableParameters,
    ...Object.fromEntries(METRICS.map((m) => [m, rs.every((r) => typeof r[m] === 'number') ? meanInterval(rs.map((r) => r[m])) : null])),
    novelLiterals: rs[0].novelLiterals ?? null,
  }]));
}

const sweep = (results, group) => results.filter((r) => r.group === group).sort((a, b) => a.r - b.r).map((r) => ({
  r: r.r, loraAlpha: r.loraAlpha, scaling: r.rslora ? r.rslora.alpha / Math.sqrt(r.r) : r.loraAlpha / r.r, lr: r.lr, trainableParameters: r.trainableParameters,
  testSuiteAccuracy: r.testSuiteAccuracy, executionAccuracy: r.executionAccuracy, exactMatch: r.exactMatch, finalEvalLoss: r.finalEvalLoss,
}));

/**
 * Accuracy on the test questions whose gold query needs a value never seen in training: at least one gold literal
 * that no training SQL contains. A model that copies values from the question keeps its accuracy there.
 */
export function novelLiteralAccuracy(report, trainLiterals) {
  const novel = report.examples.filter((e) => e.goldLiterals.some((l) => !trainLiterals.has(l)));
  if (!novel.length) return { n: 0 };
  const k = novel.filter((e) => (e.testSuiteMatch ?? e.executionMatch) === true).length;
  return { metric: report.testSuite && 'seeds' in report.testSuite ? 'test-suite execution' : 'execution', ...rate(k, novel.length) };
}

export const trainLiteralSet = (sqlDir) => new Set(readFileSync(join(sqlDir, 'train.jsonl'), 'utf8').trim().split('\n').flatMap((l) => sqlLiterals(JSON.parse(l).sql)));

export function summarize(results, plan) {
  const get = (name) => results.find((r) => r.name === name);
  const forgettingBase = get('forgetting-base');
  return {
    learningRates: chooseLearningRates(results),
    headline: headline(results),
    rankSweeps: { fixedAlpha: sweep(results, 'rank-fixed-alpha'), alphaTwoR: sweep(results, 'rank-alpha-2r'), rslora: sweep(results, 'rank-rslora') },
    targetModules: results.filter((r) => r.group === 'targets').map((r) => ({ targets: r.targets, r: r.r, trainableParameters: r.trainableParameters, testSuiteAccuracy: r.testSuiteAccuracy, exactMatch: r.exactMatch })),
    forgetting: Object.fromEntries(results.filter((r) => r.group === 'forgetting' && r.of !== 'base').map((r) => [r.of, {
      corpusLossBefore: forgettingBase?.corpusLoss ?? null, corpusLossAfter: r.corpusLoss, increase: forgettingBase ? r.corpusLoss - forgettingBase.corpusLoss : null,
    }])),
    planted: get('planted-teacher') ? {
      k: get('planted-teacher').planted.k, targets: get('planted-teacher').planted.targets, relativeNorm: get('planted-teacher').planted.relativeNorm,
      curve: results.filter((r) => r.group === 'planted' && r.measure !== 'teacher' && r.method === 'lora').sort((a, b) => a.r - b.r).map((r) => ({ r: r.r, trainableParameters: r.trainableParameters, kl: r.klTeacherStudent })),
      full: get('planted-full')?.klTeacherStudent ?? null,
    } : null,
    plannedRuns: plan.length,
    finishedRuns: results.length,
  };
}
