/** The text metrics of the SQL grader (tokens.ts) and the intervals every accuracy carries (util/stats.ts). */
import { describe, expect, it } from 'vitest';
import { canonicalSql, literalsPresent, meanInterval, rate, sqlLiterals, sqlTokens, wilson } from 'loralab/sql';

describe('exact match after normalisation', () => {
  const same = (a: string, b: string) => expect(canonicalSql(a), `${a}  vs  ${b}`).toBe(canonicalSql(b));
  const differ = (a: string, b: string) => expect(canonicalSql(a), `${a}  vs  ${b}`).not.toBe(canonicalSql(b));

  it('ignores whitespace, comments, keyword and identifier case, identifier quotes and the final semicolon', () => {
    same("SELECT COUNT(*) FROM customers WHERE city = 'Paris';", "select  count( * )\nfrom Customers where CITY='Paris'");
    same('SELECT name FROM customers', 'SELECT "name" FROM `customers` ; ');
    same('SELECT [name] FROM customers -- the names', 'SELECT name FROM customers /* all */;');
    same('SELECT a FROM t WHERE x != 1', 'SELECT a FROM t WHERE x <> 1');
  });
  it('keeps the case of string literals and every literal value', () => {
    differ("SELECT 1 FROM t WHERE city = 'Paris'", "SELECT 1 FROM t WHERE city = 'paris'");
    differ("SELECT 1 FROM t WHERE city = 'Paris'", "SELECT 1 FROM t WHERE city = 'Lyon'");
    differ('SELECT 1 FROM t LIMIT 3', 'SELECT 1 FROM t LIMIT 5');
    differ("SELECT a FROM t WHERE b = 'x'", 'SELECT a FROM t WHERE b = "x"'); // "x" is an identifier in SQL
  });
  it('renames table aliases to their tables, with or without AS, and select aliases by position', () => {
    const gold = 'SELECT COUNT(*) FROM orders o JOIN customers c ON o.customer_id = c.customer_id WHERE c.city = \'Oslo\';';
    same(gold, "SELECT COUNT(*) FROM orders AS ord JOIN customers AS cu ON ord.customer_id = cu.customer_id WHERE cu.city = 'Oslo'");
    same(gold, "SELECT COUNT(*) FROM orders JOIN customers ON orders.customer_id = customers.customer_id WHERE customers.city = 'Oslo'");
    // the alias `orders` of a select item is not the table orders
    same(
      'SELECT c.name, COUNT(*) AS orders FROM orders o JOIN customers c ON o.customer_id = c.customer_id GROUP BY c.customer_id ORDER BY orders DESC LIMIT 3;',
      'SELECT c.name, COUNT(*) AS n FROM orders o JOIN customers c ON o.customer_id = c.customer_id GROUP BY c.customer_id ORDER BY n DESC LIMIT 3',
    );
    same("SELECT strftime('%m', order_date) AS month, COUNT(*) FROM orders GROUP BY month ORDER BY month", "SELECT strftime('%m', order_date) AS m, COUNT(*) FROM orders GROUP BY m ORDER BY m");
    // which table a column is read from still matters
    differ('SELECT o.customer_id FROM orders o JOIN customers c ON o.customer_id = c.customer_id', 'SELECT c.customer_id FROM orders o JOIN customers c ON o.customer_id = c.customer_id');
    // a self-join keeps its aliases: they are what tells the two copies apart
    expect(canonicalSql('SELECT a.x FROM t a JOIN t b ON a.id = b.id')).toBe('select a . x from t a join t b on a . id = b . id');
  });
  it('reads strings with doubled quotes, blobs, decimals and exponents as single tokens', () => {
    expect(sqlTokens("SELECT 'O''Brien', X'00FF', 1.5e3, .5 FROM t;")).toEqual([
      { kind: 'word', value: 'select' },
      { kind: 'string', value: "O'Brien" },
      { kind: 'op', value: ',' },
      { kind: 'blob', hex: '00ff' },
      { kind: 'op', value: ',' },
      { kind: 'number', text: '1.5e3' },
      { kind: 'op', value: ',' },
      { kind: 'number', text: '.5' },
      { kind: 'word', value: 'from' },
      { kind: 'word', value: 't' },
    ]);
  });
});

describe('literal accuracy', () => {
  it('lists the string and number literals of a query, numbers by value, signs told from subtraction', () => {
    expect(sqlLiterals("SELECT COUNT(*) FROM accounts a JOIN customers c ON a.customer_id = c.customer_id WHERE a.type = 'credit' AND c.city = 'Vienna';")).toEqual(["'credit'", "'Vienna'"]);
    expect(sqlLiterals("SELECT COUNT(*) FROM orders WHERE strftime('%Y-%m', order_date) = '2022-05'")).toEqual(["'%Y-%m'", "'2022-05'"]);
    expect(sqlLiterals('SELECT name FROM products WHERE price > 50.0 ORDER BY price DESC LIMIT 5')).toEqual(['50', '5']);
    expect(sqlLiterals('SELECT account_id FROM accounts WHERE balance < -200 AND balance - 3 > 0')).toEqual(['-200', '3', '0']);
    expect(sqlLiterals('SELECT account_id2 FROM t')).toEqual([]); // digits inside a name are not a number
  });
  it('needs every gold literal in the prediction, in any order, not the reverse', () => {
    const gold = sqlLiterals("SELECT COUNT(*) FROM customers WHERE city = 'Vienna' AND segment = 'consumer'");
    expect(literalsPresent(gold, sqlLiterals("SELECT COUNT(*) FROM customers WHERE segment = 'consumer' AND city = 'Vienna' AND 1 = 1"))).toBe(true);
    expect(literalsPresent(gold, sqlLiterals("SELECT COUNT(*) FROM customers WHERE city = 'Oslo' AND segment = 'consumer'"))).toBe(false);
    expect(literalsPresent(gold, sqlLiterals("SELECT COUNT(*) FROM customers WHERE city = 'vienna' AND segment = 'consumer'"))).toBe(false);
  });
});

describe('intervals', () => {
  it('wilson: the 95 % score interval, inside [0, 1] even at 0 and n', () => {
    // 10 of 391 (2.6 %, the committed LoRA r=8's execution accuracy): [1.4 %, 4.6 %]
    expect(wilson(10, 391)[0]).toBeCloseTo(0.01395, 4);
    expect(wilson(10, 391)[1]).toBeCloseTo(0.04643, 4);
    expect(wilson(0, 391)[0]).toBe(0);
    expect(wilson(0, 391)[1]).toBeCloseTo(0.00973, 4);
    expect(rate(10, 391)).toEqual({ correct: 10, n: 391, rate: 10 / 391, ci95: wilson(10, 391) });
    expect(() => wilson(4, 3)).toThrow(/k <= n/);
  });
  it('meanInterval: mean ± t(0.975, n−1)·s/√n over seeds', () => {
    const m = meanInterval([0.8, 0.9, 1.0]);
    expect(m.mean).toBeCloseTo(0.9, 12);
    expect(m.sd).toBeCloseTo(0.1, 12);
    // t(0.975, 2) = 4.303: half-width 4.303 · 0.1 / √3
    expect(m.ci95?.[0]).toBeCloseTo(0.9 - (4.303 * 0.1) / Math.sqrt(3), 6);
    expect(m.ci95?.[1]).toBeCloseTo(0.9 + (4.303 * 0.1) / Math.sqrt(3), 6);
    expect(meanInterval([0.5])).toEqual({ n: 1, mean: 0.5, sd: 0, ci95: null });
    expect(() => meanInterval([])).toThrow(/one or more finite numbers/);
  });
});
