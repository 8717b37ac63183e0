import { readFileSync } from 'node:fs';
import type { Exercise, Helpers } from '../grader/types.js';

interface Matrix { name: string; out: number; in: number; singularValues: number[] }
type Fn = (m: Matrix[], budget: number) => number[];
const energy = (ms: Matrix[], rs: number[]) => ms.reduce((s, m, j) => s + m.singularValues.slice(0, rs[j]).reduce((a, v) => a + v * v, 0), 0);
const cost = (ms: Matrix[], rs: number[]) => ms.reduce((s, m, j) => s + rs[j] * (m.out + m.in), 0);
function greedy(ms: Matrix[], budget: number) {
  const rs = ms.map(() => 0);
  let left = budget;
  for (;;) {
    let best = -1, g = 0;
    ms.forEach((m, j) => { const c = m.out + m.in; if (rs[j] < m.singularValues.length && c <= left && m.singularValues[rs[j]] ** 2 / c > g) { g = m.singularValues[rs[j]] ** 2 / c; best = j; } });
    if (best < 0) return rs;
    rs[best]++; left -= ms[best].out + ms[best].in;
  }
}
function check(fn: Fn, ms: Matrix[], budget: number, t: Helpers, label: string) {
  const rs = fn(ms.map((m) => ({ ...m, singularValues: [...m.singularValues] })), budget);
  if (!Array.isArray(rs) || rs.length !== ms.length) t.fail(`${label}: expected ${ms.length} ranks, got ${Array.isArray(rs) ? rs.length : typeof rs}`);
  rs.forEach((r, j) => { if (!Number.isInteger(r) || r < 0 || r > ms[j].singularValues.length) t.fail(`${label}: rank ${r} for '${ms[j].name}' is not an integer in 0..${ms[j].singularValues.length}`); });
  if (cost(ms, rs) > budget) t.fail(`${label}: your ranks cost ${cost(ms, rs)} parameters, over the budget of ${budget}`);
  const perRank = ms.reduce((s, m) => s + m.out + m.in, 0);
  const u = Math.floor(budget / perRank);
  const uniform = energy(ms, ms.map((m) => Math.min(u, m.singularValues.length)));
  const mine = energy(ms, rs), ref = energy(ms, greedy(ms, budget));
  if (!(mine > uniform)) t.fail(`${label}: you keep ${mine.toPrecision(6)} of energy, no more than the uniform rank ${u} (${uniform.toPrecision(6)}): give the budget to the matrices whose singular values are largest per parameter`);
  if (mine < 0.99 * ref) t.fail(`${label}: you keep ${mine.toPrecision(6)}, less than 99 % of what a greedy allocation keeps (${ref.toPrecision(6)})`);
}
const real = (): Matrix[] => JSON.parse(readFileSync('exercises/08-rank-budget/spectra.json', 'utf8')).matrices;

export default {
  title: 'Ranks per layer under a parameter budget',
  exports: ['allocateRanks'],
  readNext: 'notebooks/08-experiments-interviews.ipynb (rank sweep); AdaLoRA (Zhang et al., 2023)',
  checks: [
    { name: 'synthetic spectra: one steep, one flat', points: 3, hint: 'compare σ² / (out + in) across matrices, not σ alone', run: (m, t) => {
      const ms: Matrix[] = [
        { name: 'steep', out: 64, in: 64, singularValues: Array.from({ length: 32 }, (_, i) => 10 * 0.5 ** i) },
        { name: 'flat', out: 64, in: 64, singularValues: Array.from({ length: 32 }, () => 1) },
        { name: 'wide', out: 64, in: 256, singularValues: Array.from({ length: 32 }, (_, i) => 3 / (i + 1)) },
      ];
      check(m.allocateRanks as Fn, ms, 20 * 128, t, 'synthetic');
    } },
    { name: "a real fine-tuning run's updates, budget of r=4 everywhere", points: 4, hint: 'greedy: add one rank at a time where it buys the most energy per parameter', run: (m, t) => {
      const ms = real();
      check(m.allocateRanks as Fn, ms, 4 * ms.reduce((s, x) => s + x.out + x.in, 0) + 100, t, 'gemma-micro updates');
    } },
    { name: 'a tight budget and an empty one', points: 3, hint: 'never exceed the budget; with budget 0, every rank is 0', run: (m, t) => {
      const ms = real();
      check(m.allocateRanks as Fn, ms, 3000, t, 'budget 3000');
      const z = (m.allocateRanks as Fn)(ms, 0);
      if (!Array.isArray(z) || z.some((r) => r !== 0)) t.fail('with a budget of 0 every rank must be 0');
    } },
  ],
} satisfies Exercise;
