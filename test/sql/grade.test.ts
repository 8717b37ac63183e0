import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqlDatabase, gradeSql, sameResult, normalizeSql, sqlSkeleton } from 'loralab/sql';

const DIR = join(import.meta.dirname, '..', '..', 'datasets', 'sql');
const lines = (f: string) => readFileSync(join(DIR, f), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { question: string; sql: string });
let db: SqlDatabase;

beforeAll(async () => {
  db = await SqlDatabase.open(DIR);
});
afterAll(async () => {
  await db.close();
});

describe('the text-to-SQL dataset', () => {
  const train = lines('train.jsonl');
  const valid = lines('valid.jsonl');
  const test = lines('test.jsonl');
  it('has thousands of training pairs and a few hundred valid and test pairs', () => {
    expect(train.length).toBeGreaterThan(3000);
    expect(valid.length).toBeGreaterThan(200);
    expect(test.length).toBeGreaterThan(200);
  });
  it('no test question or SQL appears in training', () => {
    const trainSql = new Set(train.map((x) => x.sql));
    const trainQ = new Set(train.map((x) => x.question));
    expect(test.filter((x) => trainSql.has(x.sql) || trainQ.has(x.question))).toEqual([]);
    expect(valid.filter((x) => trainSql.has(x.sql) || trainQ.has(x.question))).toEqual([]);
  });
  it('covers joins, aggregates, grouping, ordering and dates', () => {
    const all = train.map((x) => x.sql).join('\n');
    for (const kw of ['JOIN', 'GROUP BY', 'ORDER BY', 'LIMIT', 'COUNT(', 'SUM(', 'AVG(', 'strftime']) expect(all).toContain(kw);
  });
  it('every gold query of valid and test runs in SQLite, and almost all return rows', async () => {
    let empty = 0;
    for (const x of [...valid, ...test]) {
      const r = await db.run(x.sql);
      expect(r.ok, `${x.sql}: ${r.ok ? '' : r.error}`).toBe(true);
      if (r.ok && (r.rows.length === 0 || r.rows[0][0] === null)) empty++;
    }
    expect(empty / (valid.length + test.length)).toBeLessThan(0.15);
  });
});

describe('grading', () => {
  it('the skeleton of a query replaces its string and number literals, after normalisation', () => {
    expect(sqlSkeleton("SELECT  SUM(amount) FROM t WHERE id = 83 AND d = '2023-05' AND x > 1.5;")).toBe('select sum(amount) from t where id = ? and d = ? and x > ?');
    expect(sqlSkeleton("WHERE name = 'O''Brien' AND account_id2 = 7")).toBe('where name = ? and account_id2 = ?');
  });

  it('execution accuracy compares result sets, ignoring column names and order unless ORDER BY', async () => {
    const rep = await gradeSql(db, [
      { question: 'a', gold: "SELECT COUNT(*) FROM customers WHERE city = 'Paris';", predicted: "select count(customer_id) as n from customers where city='Paris'" },
      { question: 'b', gold: 'SELECT city, COUNT(*) FROM customers GROUP BY city;', predicted: 'SELECT city, COUNT(*) FROM customers GROUP BY city ORDER BY COUNT(*) DESC;' },
      { question: 'c', gold: "SELECT COUNT(*) FROM customers WHERE city = 'Paris';", predicted: "SELECT COUNT(*) FROM customers WHERE city = 'Paris';" },
      { question: 'd', gold: "SELECT COUNT(*) FROM customers WHERE city = 'Paris';", predicted: 'SELEC nonsense' },
      { question: 'e', gold: "SELECT COUNT(*) FROM customers WHERE city = 'Paris';", predicted: "SELECT COUNT(*) FROM customers WHERE city = 'Lyon';" },
    ]);
    expect(rep.examples.map((e) => e.executionMatch)).toEqual([true, true, true, false, false]);
    expect(rep.examples.map((e) => e.exactMatch)).toEqual([false, false, true, false, false]);
    // same structure with different literals (e) counts as a skeleton match; different clauses (a, b, d) do not
    expect(rep.examples.map((e) => e.skeletonMatch)).toEqual([false, false, true, false, true]);
    expect(rep.skeletonMatch).toBeCloseTo(0.4);
    expect(rep.invalid).toBe(1);
    expect(rep.examples[3].error).toMatch(/syntax error/);
    expect(rep.executionAccuracy).toBeCloseTo(0.6);
  });
  it('is read-only and stops runaway queries', async () => {
    const w = await db.run('DELETE FROM customers;');
    expect(w).toMatchObject({ ok: false });
    expect((await db.run('SELECT COUNT(*) FROM customers;')) as { rows: number[][] }).toMatchObject({ ok: true, rows: [[200]] });
    const slow = await db.run('SELECT COUNT(*) FROM transactions a, transactions b, order_items c;', { timeoutMs: 500 });
    expect(slow).toEqual({ ok: false, error: 'timed out after 500 ms' });
    expect(await db.run('SELECT COUNT(*) FROM stores;')).toMatchObject({ ok: true, rows: [[12]] });
  });
  it('helpers', () => {
    expect(normalizeSql('SELECT  a\nFROM t ; ')).toBe('select a from t');
    expect(sameResult({ ok: true, columns: ['x'], rows: [[1 / 3]] }, { ok: true, columns: ['y'], rows: [[0.33333333333]] }, false)).toBe(true);
  });
});
