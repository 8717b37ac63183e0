/**
 * Grading text-to-SQL. Execution accuracy: predicted and gold SQL return the same result on the shipped database.
 * Test-suite execution accuracy: the same, and also on every generated variant of it (testSuite.ts). Exact match:
 * the same query after normalisation (canonicalSql). Literal accuracy: every literal of the gold query appears in
 * the prediction. Every accuracy comes with its 95 % Wilson interval. Runs in Node and in a browser (no Node APIs).
 */
import type { SqlResult, SqlValue } from './database.js';
import type { TestSuite } from './testSuite.js';
import { canonicalSql, literalsPresent, sqlLiterals } from './tokens.js';
import { rate, type Rate } from '../util/stats.js';
import { SqlTaskError } from './errors.js';

/** What grading needs of a database: SqlDatabase in Node, a Web Worker running sql.js in a browser. */
export interface SqlRunner {
  run(sql: string, opts?: { timeoutMs?: number }): Promise<SqlResult>;
}

/** Numbers compared to 9 significant digits (SUM/AVG of floats may differ in the last bits). */
function normValue(v: SqlValue): string {
  if (v === null) return 'null';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : Number(v.toPrecision(9)).toString();
  if (v instanceof Uint8Array) return `blob:${Array.from(v, (b) => b.toString(16).padStart(2, '0')).join('')}`; // no Buffer: also runs in a browser
  return `s:${v}`;
}

/**
 * Same result? Rows are compared as a multiset, or in order when the gold query has ORDER BY. Column names do not
 * matter (`SELECT COUNT(*)` and `SELECT COUNT(*) AS n` agree).
 */
export function sameResult(gold: SqlResult, pred: SqlResult, ordered: boolean): boolean {
  if (!gold.ok || !pred.ok) return false;
  const rows = (r: { rows: SqlValue[][] }) => r.rows.map((row) => row.map(normValue).join('\u0001'));
  const a = rows(gold);
  const b = rows(pred);
  if (a.length !== b.length) return false;
  if (!ordered) {
    a.sort();
    b.sort();
  }
  return a.every((x, i) => x === b[i]);
}

export function normalizeSql(sql: string): string {
  return sql.trim().replace(/;\s*$/, '').replace(/\s+/g, ' ').trim().toLowerCase();
}

/**
 * The query with its literals replaced by `?` (strings, numbers, dates): two queries with the same skeleton have the
 * same structure — tables, joins, filters, aggregates, ordering — and may differ only in the values they use. This
 * separates "learned the SQL of the task" from "copied the right values from the question".
 */
export function sqlSkeleton(sql: string): string {
  return normalizeSql(sql)
    .replace(/'(?:[^']|'')*'/g, '?')
    .replace(/\b\d+(?:\.\d+)?\b/g, '?');
}

export interface GradedExample {
  question: string;
  gold: string;
  predicted: string;
  /** Same query after normalisation (canonicalSql): whitespace, keyword case, quoting, final semicolon, aliases. */
  exactMatch: boolean;
  executionMatch: boolean;
  /** Same result on the shipped database and on every variant; null when no test suite was given. */
  testSuiteMatch: boolean | null;
  /** The first variant (its seed) whose result differs, when the shipped database agreed but a variant did not. */
  failedVariant?: number;
  /** Same query apart from literal values (sqlSkeleton). */
  skeletonMatch: boolean;
  goldLiterals: string[];
  predictedLiterals: string[];
  /** Every gold literal present in the prediction; null when the gold query has none. */
  literalMatch: boolean | null;
  /** The SQLite error or time-out of the predicted query, if any. */
  error?: string;
}

export interface GradeMetrics {
  execution: Rate | null;
  /** Null without a test suite. */
  testSuite: Rate | null;
  exactMatch: Rate | null;
  /** Over the examples whose gold query has literals. */
  literal: Rate | null;
  skeleton: Rate | null;
}

export interface GradeReport {
  n: number;
  executionAccuracy: number;
  /** Null without a test suite. */
  testSuiteAccuracy: number | null;
  exactMatch: number;
  /** Share of the examples with gold literals whose prediction has them all; null when no gold query has literals. */
  literalAccuracy: number | null;
  /** Share of predictions with the gold query's structure, literals aside (sqlSkeleton). */
  skeletonMatch: number;
  /** Predictions SQLite rejected (syntax errors, unknown columns, time-outs). */
  invalid: number;
  /** Each accuracy as counts, rate and 95 % Wilson interval (null where its n is 0). */
  metrics: GradeMetrics;
  /** The variants graded on (their seeds), or why there were none. */
  testSuite: { variants: number; seeds: number[] } | { unavailable: string } | null;
  examples: GradedExample[];
}

export interface GradeOptions {
  timeoutMs?: number;
  /** Variants of the database for test-suite accuracy (openTestSuite). */
  suite?: TestSuite;
  /** Recorded in the report when the suite could not be made. */
  suiteUnavailable?: string;
}

const orderedBy = (gold: string) => /\border\s+by\b/i.test(gold);

/** Same result on every variant too? Returns the seed of the first variant where the prediction differs, or null. */
async function firstFailingVariant(suite: TestSuite, gold: string, predicted: string, opts: { timeoutMs?: number }): Promise<number | null> {
  const verdicts = await Promise.all(
    suite.variants.map(async ({ seed, db }) => {
      const g = await db.run(gold, opts);
      if (!g.ok) throw new SqlTaskError(`gold SQL failed on test-suite variant ${seed}: ${g.error}`, { field: gold, expected: 'gold SQL that runs on every variant' });
      return sameResult(g, await db.run(predicted, opts), orderedBy(gold)) ? null : seed;
    }),
  );
  return verdicts.find((v) => v !== null) ?? null;
}

const maybeRate = (k: number, n: number): Rate | null => (n > 0 ? rate(k, n) : null);

export async function gradeSql(db: SqlRunner, items: { question: string; gold: string; predicted: string }[], opts: GradeOptions = {}): Promise<GradeReport> {
  const examples: GradedExample[] = [];
  const run = { timeoutMs: opts.timeoutMs };
  for (const it of items) {
    const gold = await db.run(it.gold, run);
    if (!gold.ok) throw new SqlTaskError(`gold SQL failed: ${gold.error}`, { field: `question "${it.question}"`, expected: 'gold SQL that runs on the task database' });
    const pred = await db.run(it.predicted, run);
    const goldLiterals = sqlLiterals(it.gold);
    const predictedLiterals = sqlLiterals(it.predicted);
    const executionMatch = sameResult(gold, pred, orderedBy(it.gold));
    const failed = opts.suite && executionMatch ? await firstFailingVariant(opts.suite, it.gold, it.predicted, run) : null;
    const e: GradedExample = {
      question: it.question,
      gold: it.gold,
      predicted: it.predicted,
      exactMatch: canonicalSql(it.gold) === canonicalSql(it.predicted),
      executionMatch,
      testSuiteMatch: opts.suite ? executionMatch && failed === null : null,
      skeletonMatch: sqlSkeleton(it.gold) === sqlSkeleton(it.predicted),
      goldLiterals,
      predictedLiterals,
      literalMatch: goldLiterals.length ? literalsPresent(goldLiterals, predictedLiterals) : null,
    };
    if (failed !== null) e.failedVariant = failed;
    if (!pred.ok) e.error = pred.error;
    examples.push(e);
  }
  const n = items.length;
  const count = (f: (e: GradedExample) => boolean) => examples.filter(f).length;
  const withLiterals = count((e) => e.literalMatch !== null);
  const metrics: GradeMetrics = {
    execution: maybeRate(count((e) => e.executionMatch), n),
    testSuite: opts.suite ? maybeRate(count((e) => e.testSuiteMatch === true), n) : null,
    exactMatch: maybeRate(count((e) => e.exactMatch), n),
    literal: maybeRate(count((e) => e.literalMatch === true), withLiterals),
    skeleton: maybeRate(count((e) => e.skeletonMatch), n),
  };
  return {
    n,
    executionAccuracy: metrics.execution?.rate ?? 0,
    testSuiteAccuracy: metrics.testSuite?.rate ?? null,
    exactMatch: metrics.exactMatch?.rate ?? 0,
    literalAccuracy: metrics.literal?.rate ?? null,
    skeletonMatch: metrics.skeleton?.rate ?? 0,
    invalid: count((e) => e.error !== undefined),
    metrics,
    testSuite: opts.suite ? { variants: opts.suite.variants.length, seeds: opts.suite.variants.map((v) => v.seed) } : opts.suiteUnavailable ? { unavailable: opts.suiteUnavailable } : null,
    examples,
  };
}
