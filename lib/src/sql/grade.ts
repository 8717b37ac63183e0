/**
 * Grading text-to-SQL: execution accuracy (predicted and gold SQL return the same result set) and exact match
 * (the same query text up to case, whitespace and a final semicolon).
 */
import type { SqlDatabase, SqlResult, SqlValue } from './database.js';

/** Numbers compared to 9 significant digits (SUM/AVG of floats may differ in the last bits). */
function normValue(v: SqlValue): string {
  if (v === null) return 'null';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : Number(v.toPrecision(9)).toString();
  if (v instanceof Uint8Array) return `blob:${Buffer.from(v).toString('hex')}`;
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
  exactMatch: boolean;
  executionMatch: boolean;
  /** Same query apart from literal values (sqlSkeleton). */
  skeletonMatch: boolean;
  /** The SQLite error or time-out of the predicted query, if any. */
  error?: string;
}

export interface GradeReport {
  n: number;
  executionAccuracy: number;
  exactMatch: number;
  /** Share of predictions with the gold query's structure, literals aside (sqlSkeleton). */
  skeletonMatch: number;
  /** Predictions SQLite rejected (syntax errors, unknown columns, time-outs). */
  invalid: number;
  examples: GradedExample[];
}

export async function gradeSql(db: SqlDatabase, items: { question: string; gold: string; predicted: string }[], opts: { timeoutMs?: number } = {}): Promise<GradeReport> {
  const examples: GradedExample[] = [];
  let exec = 0;
  let exact = 0;
  let invalid = 0;
  let skeleton = 0;
  for (const it of items) {
    const gold = await db.run(it.gold, opts);
    if (!gold.ok) throw new Error(`gold SQL failed for "${it.question}": ${gold.error}`);
    const pred = await db.run(it.predicted, opts);
    const e: GradedExample = {
      question: it.question,
      gold: it.gold,
      predicted: it.predicted,
      exactMatch: normalizeSql(it.gold) === normalizeSql(it.predicted),
      executionMatch: sameResult(gold, pred, /\border\s+by\b/i.test(it.gold)),
      skeletonMatch: sqlSkeleton(it.gold) === sqlSkeleton(it.predicted),
    };
    if (!pred.ok) {
      e.error = pred.error;
      invalid++;
    }
    if (e.executionMatch) exec++;
    if (e.exactMatch) exact++;
    if (e.skeletonMatch) skeleton++;
    examples.push(e);
  }
  const n = items.length;
  return { n, executionAccuracy: n ? exec / n : 0, exactMatch: n ? exact / n : 0, skeletonMatch: n ? skeleton / n : 0, invalid, examples };
}
