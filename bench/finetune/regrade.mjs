// Re-grades the predictions already in eval reports (<dir>/<run>/eval-report.json) with every metric of today's
// grader — execution, test-suite execution, exact match, literal accuracy, each with its 95 % interval — without
// generating anything again, and writes one summary. What the earlier runs' "execution accuracy" was worth.
// Run: npm run build && node bench/finetune/regrade.mjs [--runs bench/results/finetune-runs] [--out FILE]
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SqlDatabase, gradeSql, openTestSuite } from '../../lib/dist/sql/index.js';
import { writeJson } from './execute.mjs';

const root = new URL('../..', import.meta.url).pathname;

export async function regrade(runsDir, { sqlDir = join(root, 'datasets/sql'), variants = 4 } = {}) {
  const db = await SqlDatabase.open(sqlDir);
  const suite = await openTestSuite(sqlDir, variants);
  if ('unavailable' in suite) throw new Error(suite.unavailable);
  const runs = [];
  try {
    for (const name of readdirSync(runsDir).sort()) {
      const p = join(runsDir, name, 'eval-report.json');
      if (!existsSync(p)) continue;
      const old = JSON.parse(readFileSync(p, 'utf8'));
      if (!Array.isArray(old.examples)) throw new Error(`${p}: expected an eval report with an 'examples' array`);
      const rep = await gradeSql(db, old.examples.map((e) => ({ question: e.question, gold: e.gold, predicted: e.predicted })), { suite });
      const coincidences = rep.examples.filter((e) => e.executionMatch && !e.testSuiteMatch).slice(0, 3).map((e) => ({ gold: e.gold, predicted: e.predicted, failedVariant: e.failedVariant }));
      runs.push({ name, n: rep.n, metrics: rep.metrics, invalid: rep.invalid, coincidences });
    }
  } finally {
    await db.close();
    await suite.close();
  }
  return { what: 'predictions of earlier eval reports re-graded by the current grader (nothing regenerated)', testSuite: { variants, seeds: suite.variants.map((v) => v.seed) }, runs };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (k, d) => (process.argv.includes(k) ? process.argv[process.argv.indexOf(k) + 1] : d);
  const runsDir = arg('--runs', join(root, 'bench/results/finetune-runs'));
  const out = arg('--out', join(root, 'bench/results/finetune-regrade.json'));
  const t0 = performance.now();
  const result = await regrade(runsDir);
  const pct = (r) => (r ? `${(100 * r.rate).toFixed(1)} % [${(100 * r.ci95[0]).toFixed(1)}, ${(100 * r.ci95[1]).toFixed(1)}]` : 'n/a');
  for (const r of result.runs) console.log(`${r.name.padEnd(12)} execution ${pct(r.metrics.execution)}  test-suite ${pct(r.metrics.testSuite)}  exact ${pct(r.metrics.exactMatch)}  literals ${pct(r.metrics.literal)}`);
  writeJson(out, { ...result, command: `node bench/finetune/regrade.mjs ${process.argv.slice(2).join(' ')}`.trim(), seconds: Math.round((performance.now() - t0) / 1000), date: new Date().toISOString() });
  console.log(`wrote ${relative(root, out)}`);
}
