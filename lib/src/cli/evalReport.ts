/**
 * What `loralab eval` does once the SQL is generated: grade it on the task database and its test-suite variants,
 * write the per-example report (atomically: a failed run leaves no half-written file), print every accuracy with
 * its 95 % interval, and end with the one-line summary scripts read.
 */
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqlDatabase, gradeSql, openTestSuite, type GradeReport, type Rate, type TestSuite } from '../sql/index.js';
import { table } from './format.js';
import { UsageError } from './errors.js';

/** --db checked before any generating: a folder with the task's schema.sql and data.sql. */
export function dbFolder(dir: string): string {
  const missing = ['schema.sql', 'data.sql'].filter((f) => !existsSync(join(dir, f)));
  if (missing.length) throw new UsageError(`--db ${dir}: no ${missing.join(' or ')} (expected a folder with the task's schema.sql and data.sql, like datasets/sql)`);
  return dir;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

function row(name: string, r: Rate | null, note: string): string[] {
  if (!r) return [name, 'n/a', '', '', note];
  return [name, pct(r.rate), `[${(100 * r.ci95[0]).toFixed(1)}, ${(100 * r.ci95[1]).toFixed(1)}]`, `${r.correct}/${r.n}`, note];
}

/** The metrics table and the summary line (its start is what older scripts and tests match). */
export function formatEval(report: GradeReport, reportPath: string): string {
  const m = report.metrics;
  const suite = report.testSuite;
  const suiteNote = suite && 'seeds' in suite ? `shipped database + ${suite.variants} variants (seeds ${suite.seeds.join(', ')})` : suite ? suite.unavailable : 'off (--variants 0)';
  const lines = table(
    ['metric', 'accuracy', '95% CI', 'correct', 'what'],
    [
      row('execution', m.execution, 'same result on the shipped database'),
      row('test-suite execution', m.testSuite, suiteNote),
      row('exact match', m.exactMatch, 'same query after normalisation'),
      row('literals', m.literal, 'every gold literal in the prediction (gold queries with literals)'),
      row('same structure', m.skeleton, 'same query with literals as ?'),
    ],
    ['l', 'r', 'r', 'r', 'l'],
  );
  const opt = (label: string, x: number | null) => (x === null ? '' : ` | ${label} ${pct(x)}`);
  const summary =
    `execution accuracy ${pct(report.executionAccuracy)} | exact match ${pct(report.exactMatch)} | invalid SQL ${report.invalid}/${report.n} | ` +
    `same structure ${pct(report.skeletonMatch)}${opt('test-suite', report.testSuiteAccuracy)}${opt('literals', report.literalAccuracy)} | report: ${reportPath}`;
  return `${lines}\n${summary}`;
}

/** Grades `items` on the database in `dbDir` and `variants` generated variants of it (0: execution accuracy only). */
export async function gradeAndReport(items: { question: string; gold: string; predicted: string }[], o: { dbDir: string; variants: number; reportPath: string }): Promise<GradeReport> {
  const db = await SqlDatabase.open(o.dbDir);
  let suite: TestSuite | undefined;
  let suiteUnavailable: string | undefined;
  try {
    if (o.variants > 0) {
      const s = await openTestSuite(o.dbDir, o.variants);
      if ('unavailable' in s) suiteUnavailable = s.unavailable;
      else suite = s;
    }
    const report = await gradeSql(db, items, { suite, suiteUnavailable });
    const tmp = `${o.reportPath}.tmp-${process.pid}`;
    writeFileSync(tmp, `${JSON.stringify(report, null, 2)}\n`);
    renameSync(tmp, o.reportPath);
    console.log(formatEval(report, o.reportPath));
    return report;
  } finally {
    await db.close();
    await suite?.close();
  }
}
