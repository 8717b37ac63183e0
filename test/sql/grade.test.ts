import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqlDatabase, gradeSql, sameResult, normalizeSql, sqlSkeleton } from 'loralab/sql';
import { leadingKeyword, onlyTrivia, refusal, skipTrivia } from '../../lib/src/sql/statement.js';

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

describe('hostile predictions', () => {
  // Two wrong predictions that a corrupted database would grade correct: with orders deleted the gold count is 0,
  // and with every store moved to Paris the unfiltered count equals the filtered one.
  const honest = [
    { question: 'orders', gold: 'SELECT COUNT(*) FROM orders;', predicted: 'SELECT 0;' },
    { question: 'paris stores', gold: "SELECT COUNT(*) FROM stores WHERE city = 'Paris';", predicted: 'SELECT COUNT(*) FROM stores;' },
    { question: 'customers', gold: 'SELECT COUNT(*) FROM customers;', predicted: 'SELECT COUNT(customer_id) FROM customers;' },
  ];
  const hostile = [
    "PRAGMA query_only = OFF; DELETE FROM orders; UPDATE stores SET city='Paris'",
    'PRAGMA query_only = 0; DROP TABLE customers',
    "SELECT 1; PRAGMA query_only = OFF; DELETE FROM orders",
    'WITH x AS (SELECT 1) DELETE FROM orders',
    "WITH x AS (SELECT 1) UPDATE stores SET city = 'Paris' RETURNING *",
    'PRAGMA query_only = OFF',
    'DELETE FROM orders',
    "UPDATE stores SET city = 'Paris'",
    'DROP TABLE customers',
    "ATTACH ':memory:' AS other",
    'DETACH other',
    'VACUUM',
    'BEGIN',
    'CREATE TEMP TABLE t(x)',
    "INSERT INTO stores VALUES (99, 'x', 'Paris', 'north')",
    '/* looks like a comment */ PRAGMA writable_schema = ON',
  ];
  const strip = (r: Awaited<ReturnType<typeof gradeSql>>) => r.examples.map((e) => ({ q: e.question, exec: e.executionMatch, error: e.error }));

  it('a correct prediction gets the same grade after any sequence of hostile ones', async () => {
    const alone = await gradeSql(db, honest);
    expect(alone.executionAccuracy).toBeCloseTo(1 / 3);
    for (const order of [hostile, [...hostile].reverse()]) {
      const items = order.map((predicted, i) => ({ question: `hostile ${i}`, gold: 'SELECT COUNT(*) FROM stores;', predicted }));
      const after = await gradeSql(db, [...items, ...honest]);
      expect(after.examples.slice(0, items.length).every((e) => !e.executionMatch && e.error)).toBe(true);
      expect(strip(after).slice(items.length)).toEqual(strip(alone));
      expect(after.invalid).toBe(items.length);
    }
    expect(await db.run('SELECT COUNT(*) FROM orders;')).toMatchObject({ ok: true, rows: [[1500]] });
    expect(await db.run("SELECT COUNT(*) FROM stores WHERE city = 'Paris';")).toMatchObject({ ok: true, rows: [[1]] });
  });

  it('exactly one read-only statement is accepted; the rest is invalid SQL with a reason', async () => {
    const err = async (sql: string) => {
      const r = await db.run(sql);
      return r.ok ? 'accepted' : r.error;
    };
    expect(await err("PRAGMA query_only = OFF; DELETE FROM orders; UPDATE stores SET city='Paris'")).toBe('invalid SQL: more than one statement (only one SELECT is graded)');
    expect(await err('SELECT 1; SELECT 2')).toBe('invalid SQL: more than one statement (only one SELECT is graded)');
    expect(await err("SELECT 1; 'x'")).toMatch(/^invalid SQL: more than one statement/);
    expect(await err('PRAGMA table_info(orders)')).toBe('invalid SQL: only a read-only SELECT (or WITH … SELECT) is graded, not PRAGMA');
    expect(await err("ATTACH ':memory:' AS other")).toMatch(/not ATTACH$/);
    expect(await err('DETACH other')).toMatch(/not DETACH$/);
    expect(await err('  -- note\n vacuum')).toMatch(/not VACUUM$/);
    expect(await err('WITH x AS (SELECT 1) DELETE FROM orders')).toMatch(/^invalid SQL: the statement returns no rows/);
    expect(await err('WITH x AS (SELECT 1) DELETE FROM orders RETURNING *')).toMatch(/readonly/);
    expect(await err('')).toBe('invalid SQL: no statement');
    expect(await err('SELEC 1')).toMatch(/syntax error/);
    // trailing semicolons and comments are not a second statement; WITH … SELECT is a query
    expect(await db.run('SELECT COUNT(*) FROM stores; -- done\n ;')).toMatchObject({ ok: true, rows: [[12]] });
    expect(await db.run('/* n */ WITH s AS (SELECT * FROM stores) SELECT COUNT(*) FROM s')).toMatchObject({ ok: true, rows: [[12]] });
  });

  it('the statement rules read SQLite trivia: whitespace, line and block comments, semicolons', () => {
    expect(skipTrivia(' \n-- a\n/* b */  SELECT')).toBe('SELECT');
    expect(skipTrivia('/* unterminated')).toBe('');
    expect(onlyTrivia(' ; -- x\n ; /* y */')).toBe(true);
    expect(onlyTrivia('; DELETE FROM t')).toBe(false);
    expect(leadingKeyword('/**/with x as (select 1) select 2')).toBe('WITH');
    expect(leadingKeyword('(SELECT 1)')).toBe('');
    expect(refusal('SELECT', 1, '')).toBeNull();
    expect(refusal('', 1, '')).toBe('invalid SQL: only a read-only SELECT (or WITH … SELECT) is graded, not this statement');
  });

  it('memory-hungry queries are stopped and reported, the process stays small, and grading goes on', async () => {
    let peak = 0;
    const base = process.memoryUsage().rss;
    const poll = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss - base)), 5);
    try {
      // Unbounded, the first reaches 1.8 GB resident and the second kills the process when WebAssembly memory runs out.
      const blob = await db.run("SELECT zeroblob(900000000) || 'x'");
      expect(blob).toEqual({ ok: false, error: "out of memory: the query passed SQLite's 128 MB heap limit" });
      const doubling = await db.run("WITH RECURSIVE r(i, s) AS (SELECT 0, 'x' UNION ALL SELECT i + 1, s || s FROM r WHERE i < 40) SELECT max(length(s)) FROM r");
      expect(doubling).toMatchObject({ ok: false, error: expect.stringMatching(/^out of memory/) });
      const wide = await db.run("SELECT printf('%.*c', 30000000, 'x') FROM customers");
      expect(wide).toEqual({ ok: false, error: 'the query returns more than 32 MB' });
      const cross = await db.run('SELECT length(group_concat(a.name || b.name || c.name)) FROM customers a, customers b, customers c', { timeoutMs: 1500 });
      expect(cross.ok).toBe(false);
      const rep = await gradeSql(db, [{ question: 'blob', gold: 'SELECT COUNT(*) FROM stores;', predicted: "SELECT zeroblob(900000000) || 'x'" }, ...honest]);
      expect(rep.examples[0]).toMatchObject({ executionMatch: false, error: expect.stringMatching(/^out of memory/) });
      expect(strip(rep).slice(1)).toEqual(strip(await gradeSql(db, honest)));
    } finally {
      clearInterval(poll);
    }
    expect(peak).toBeLessThan(768 * 2 ** 20);
  }, 60_000);

  it("a result that overflows the worker's heap stops the worker, not the evaluation", async () => {
    const small = await SqlDatabase.open(DIR, { workerHeapMb: 16, maxResultBytes: 2 ** 31, maxRows: 1e9 });
    try {
      expect(await small.run("SELECT printf('%.*c', 1000000, 'x') FROM transactions")).toEqual({ ok: false, error: "out of memory: the query's results passed the 16 MB limit" });
      expect(await small.run('SELECT COUNT(*) FROM transactions')).toMatchObject({ ok: true, rows: [[4000]] });
      const rows = await SqlDatabase.open(DIR, { maxRows: 10 });
      expect(await rows.run('SELECT * FROM customers')).toEqual({ ok: false, error: 'the query returns more than 10 rows' });
      await rows.close();
    } finally {
      await small.close();
    }
  });
});
