/**
 * What the SQL grader accepts: exactly one read-only query. SQLite's own parser splits the text (sql.js'
 * `iterateStatements` prepares the first statement and hands back the rest); these helpers only read the trivia
 * SQLite leaves around it. They are self-contained (no imports, no outside names) because the grader's worker is
 * built from their source text (`Function.prototype.toString`).
 */

/**
 * `text` with leading whitespace, `-- …` line comments and `/* … *\/` block comments removed (SQLite's trivia; an
 * unterminated block comment runs to the end, as in SQLite).
 */
export function skipTrivia(text: string): string {
  let i = 0;
  for (;;) {
    while (i < text.length && /\s/.test(text[i])) i++;
    if (text.startsWith('--', i)) {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl + 1;
    } else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
    } else return text.slice(i);
  }
}

/** True when what follows a statement is only trivia and semicolons (empty statements), i.e. no second statement. */
export function onlyTrivia(rest: string): boolean {
  let s = rest;
  for (;;) {
    s = skipTrivia(s);
    if (s.startsWith(';')) s = s.slice(1);
    else return s.length === 0;
  }
}

/** The statement's first keyword, upper-cased (`SELECT`, `WITH`, `PRAGMA`, …), or '' when it starts otherwise. */
export function leadingKeyword(statement: string): string {
  const m = /^[A-Za-z_]+/.exec(skipTrivia(statement));
  return m ? m[0].toUpperCase() : '';
}

/**
 * Why a prepared statement is refused, or null when it is a single read-only query: `keyword` is its first keyword,
 * `columns` its result column count (0 for a write, even one written `WITH … DELETE`), `rest` the SQL after it.
 */
export function refusal(keyword: string, columns: number, rest: string): string | null {
  if (!onlyTrivia(rest)) return 'invalid SQL: more than one statement (only one SELECT is graded)';
  if (keyword !== 'SELECT' && keyword !== 'WITH') return `invalid SQL: only a read-only SELECT (or WITH … SELECT) is graded, not ${keyword || 'this statement'}`;
  if (columns === 0) return 'invalid SQL: the statement returns no rows (a WITH … that writes is not a query)';
  return null;
}

/** The part of sql.js' API a query uses (a `Database` constructor from `initSqlJs()`). */
export interface SqlJsStatement {
  getSQL(): string;
  getColumnNames(): string[];
  step(): boolean;
  get(): (number | string | Uint8Array | null)[];
}
export interface SqlJsDatabase {
  exec(sql: string): unknown;
  iterateStatements(sql: string): { next(): { done?: boolean; value: SqlJsStatement }; getRemainingSQL(): string };
  close(): void;
}
export interface SqlJsLike {
  Database: new (bytes?: Uint8Array) => SqlJsDatabase;
}

export type QueryOutcome = { columns: string[]; rows: (number | string | Uint8Array | null)[][] } | { error: string };

/**
 * One graded query on a fresh copy of the task's database, the same in Node's worker thread (database.ts) and in a
 * browser's Web Worker (the site's QLoRA demo): open the copy from the original bytes, turn on `query_only`, let
 * SQLite's parser split the text, refuse anything but one read-only query, and step it under the row and byte caps.
 */
export function runReadOnlyQuery(SQL: SqlJsLike, bytes: Uint8Array, sql: string, limits: { maxRows: number; maxResultBytes: number }): QueryOutcome {
  // bytes a value costs: strings 2 per character, numbers 8, blobs their length
  const size = (v: number | string | Uint8Array | null): number => (v === null ? 1 : typeof v === 'number' ? 8 : typeof v === 'string' ? 2 * v.length : v.length);
  const db = new SQL.Database(bytes);
  try {
    db.exec('PRAGMA query_only = ON;');
    const it = db.iterateStatements(sql);
    const first = it.next();
    if (first.done) return { error: 'invalid SQL: no statement' };
    const stmt = first.value;
    const why = refusal(leadingKeyword(stmt.getSQL()), stmt.getColumnNames().length, it.getRemainingSQL());
    if (why) return { error: why };
    const columns = stmt.getColumnNames();
    const rows: (number | string | Uint8Array | null)[][] = [];
    let total = 0;
    while (stmt.step()) {
      const row = stmt.get();
      for (const v of row) total += size(v);
      rows.push(row);
      if (rows.length > limits.maxRows) return { error: `the query returns more than ${limits.maxRows} rows` };
      if (total > limits.maxResultBytes) return { error: `the query returns more than ${limits.maxResultBytes >> 20} MB` };
    }
    return { columns, rows };
  } finally {
    db.close();
  }
}
