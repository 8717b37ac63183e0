/**
 * SQL read as tokens, for the text metrics: exact match after normalisation (canonicalSql) and the literals a query
 * uses (sqlLiterals). A small lexer of SQLite's surface syntax — strings, quoted identifiers, numbers, words,
 * operators — is enough: both metrics compare token sequences, they never need a parse tree.
 */

export type SqlToken =
  | { kind: 'string'; value: string }
  | { kind: 'number'; text: string }
  /** X'00ff': hex digits, lower-cased. */
  | { kind: 'blob'; hex: string }
  /** A keyword or an identifier, lower-cased (SQLite's identifiers are case-insensitive); quoted identifiers unquoted. */
  | { kind: 'word'; value: string }
  | { kind: 'op'; value: string };

/** Operators with more than one character, longest first; `!=` and `==` are read as their synonyms `<>` and `=`. */
const OPS = ['<>', '<=', '>=', '!=', '==', '||', '<<', '>>'];
const SYNONYM: Record<string, string> = { '!=': '<>', '==': '=' };

/** The tokens of `sql`; comments and whitespace dropped, and a final `;` (with anything after it that is only trivia). */
export function sqlTokens(sql: string): SqlToken[] {
  const out: SqlToken[] = [];
  let i = 0;
  const quoted = (close: string): string => {
    let v = '';
    for (i++; i < sql.length; i++) {
      if (sql[i] === close) {
        if (sql[i + 1] === close && close !== ']') {
          v += close;
          i++;
        } else break;
      } else v += sql[i];
    }
    i++; // past the closing quote (or the end of an unterminated one)
    return v;
  };
  while (i < sql.length) {
    const c = sql[i];
    if (/\s/.test(c)) i++;
    else if (sql.startsWith('--', i)) i = sql.indexOf('\n', i) < 0 ? sql.length : sql.indexOf('\n', i) + 1;
    else if (sql.startsWith('/*', i)) i = sql.indexOf('*/', i + 2) < 0 ? sql.length : sql.indexOf('*/', i + 2) + 2;
    else if ((c === 'x' || c === 'X') && sql[i + 1] === "'") {
      i++;
      out.push({ kind: 'blob', hex: quoted("'").toLowerCase() });
    } else if (c === "'") out.push({ kind: 'string', value: quoted("'") });
    else if (c === '"' || c === '`') out.push({ kind: 'word', value: quoted(c).toLowerCase() });
    else if (c === '[') out.push({ kind: 'word', value: quoted(']').toLowerCase() });
    else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      const m = /^(?:0x[0-9a-f]+|(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)/i.exec(sql.slice(i));
      const text = m ? m[0] : c;
      out.push({ kind: 'number', text });
      i += text.length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(sql.slice(i)) as RegExpExecArray;
      out.push({ kind: 'word', value: m[0].toLowerCase() });
      i += m[0].length;
    } else {
      const op = OPS.find((o) => sql.startsWith(o, i)) ?? c;
      out.push({ kind: 'op', value: SYNONYM[op] ?? op });
      i += op.length;
    }
  }
  while (out.length && out[out.length - 1].kind === 'op' && (out[out.length - 1] as { value: string }).value === ';') out.pop();
  return out;
}

const isWord = (t: SqlToken | undefined, v?: string): boolean => t?.kind === 'word' && (v === undefined || t.value === v);
const isOp = (t: SqlToken | undefined, v: string): boolean => t?.kind === 'op' && t.value === v;

/** Words that can follow a table in FROM/JOIN and so are never its alias. */
const AFTER_TABLE = new Set(['on', 'using', 'join', 'inner', 'left', 'right', 'full', 'outer', 'cross', 'natural', 'where', 'group', 'order', 'limit', 'having', 'union', 'except', 'intersect', 'window', 'offset', 'as', 'indexed', 'not']);
/** Where a select item's alias can be referred to again. */
const CLAUSES_AFTER_FROM = new Set(['where', 'group', 'having', 'order', 'limit']);

/**
 * Aliases renamed so that the name chosen does not matter ("alias-insensitive where simple"):
 * - a table alias (`FROM orders o`, `JOIN customers AS c`) is replaced by its table's name wherever it qualifies a
 *   column (`o.customer_id` → `orders.customer_id`) and its declaration dropped — unless one table has two aliases
 *   (a self-join), where the aliases are what tells the copies apart;
 * - a select item's alias (`COUNT(*) AS n`) becomes `_c1`, `_c2`, … by position, here and where GROUP BY,
 *   ORDER BY or HAVING refers to it.
 */
function unalias(tokens: SqlToken[]): SqlToken[] {
  const tableOf = new Map<string, string>();
  const aliasesOf = new Map<string, Set<string>>();
  const declared = new Set<number>(); // token positions of alias declarations (the optional AS and the alias)
  tokens.forEach((t, i) => {
    if (!(isWord(t, 'from') || isWord(t, 'join'))) return;
    const table = tokens[i + 1];
    if (table?.kind !== 'word' || AFTER_TABLE.has(table.value) || isOp(tokens[i + 2], '.') || isOp(tokens[i + 2], '(')) return;
    const hasAs = isWord(tokens[i + 2], 'as');
    const alias = tokens[i + (hasAs ? 3 : 2)];
    if (alias?.kind !== 'word' || AFTER_TABLE.has(alias.value)) return;
    tableOf.set(alias.value, table.value);
    aliasesOf.set(table.value, (aliasesOf.get(table.value) ?? new Set()).add(alias.value));
    if (hasAs) declared.add(i + 2);
    declared.add(i + (hasAs ? 3 : 2));
  });
  for (const [alias, table] of tableOf) if ((aliasesOf.get(table)?.size ?? 0) > 1) tableOf.delete(alias);
  let out = tokens.flatMap((t, i): SqlToken[] => {
    if (declared.has(i)) {
      const alias = tokens[isWord(t, 'as') ? i + 1 : i] as { value: string };
      return tableOf.has(alias.value) ? [] : [t];
    }
    if (t.kind === 'word' && tableOf.has(t.value) && isOp(tokens[i + 1], '.')) return [{ kind: 'word', value: tableOf.get(t.value) as string }];
    return [t];
  });
  // select-item aliases: `AS name` before the first FROM at the top level of the query
  const columnAlias = new Map<string, string>();
  let depth = 0;
  let afterFrom = false;
  out = out.map((t, i) => {
    if (isOp(t, '(')) depth++;
    else if (isOp(t, ')')) depth--;
    else if (depth === 0 && isWord(t, 'from')) afterFrom = true;
    if (t.kind !== 'word' || depth !== 0) return t;
    if (!afterFrom && isWord(out[i - 1], 'as') && !columnAlias.has(t.value)) {
      const name = `_c${columnAlias.size + 1}`;
      columnAlias.set(t.value, name);
      return { kind: 'word', value: name };
    }
    return t;
  });
  if (!columnAlias.size) return out;
  let inClause = false;
  depth = 0;
  return out.map((t, i) => {
    if (isOp(t, '(')) depth++;
    else if (isOp(t, ')')) depth--;
    if (depth === 0 && t.kind === 'word' && CLAUSES_AFTER_FROM.has(t.value)) inClause = t.value !== 'where';
    const ref = t.kind === 'word' && inClause && columnAlias.has(t.value) && !isOp(out[i + 1], '.') && !isOp(out[i + 1], '(') && !isOp(out[i - 1], '.');
    return ref ? { kind: 'word', value: columnAlias.get((t as { value: string }).value) as string } : t;
  });
}

const tokenText = (t: SqlToken): string => {
  if (t.kind === 'string') return `'${t.value.replace(/'/g, "''")}'`;
  if (t.kind === 'number') return t.text.toLowerCase();
  if (t.kind === 'blob') return `x'${t.hex}'`;
  return t.value;
};

/**
 * The query in one canonical spelling, for exact match: tokens separated by one space (whitespace and comments do not
 * matter), keywords and identifiers lower-cased, identifiers unquoted, `!=`/`==` read as `<>`/`=`, no final
 * semicolon, aliases renamed (unalias). String literals keep their case: `'Paris'` and `'paris'` are different values.
 */
export function canonicalSql(sql: string): string {
  return unalias(sqlTokens(sql)).map(tokenText).join(' ');
}

/**
 * The literal values a query uses, in order of appearance: strings as `'text'`, blobs as `x'00ff'`, numbers as their value (`5.0` → `5`,
 * `-3` when a minus sign stands before it as a sign, not as a subtraction).
 */
export function sqlLiterals(sql: string): string[] {
  const tokens = sqlTokens(sql);
  const lits: string[] = [];
  tokens.forEach((t, i) => {
    if (t.kind === 'string' || t.kind === 'blob') lits.push(tokenText(t));
    else if (t.kind === 'number') {
      const prev = tokens[i - 1];
      const before = tokens[i - 2];
      // a sign, not a subtraction: '-' after an operator, '(' or ',', a keyword, or at the start
      const signed = isOp(prev, '-') && (before === undefined || before.kind === 'op' ? !isOp(before, ')') : before.kind === 'word' && SIGN_CONTEXT.has(before.value));
      const v = Number(t.text);
      lits.push(String(signed ? -v : v));
    }
  });
  return lits;
}
const SIGN_CONTEXT = new Set(['select', 'where', 'and', 'or', 'not', 'then', 'else', 'when', 'between', 'in', 'is', 'like', 'by', 'limit', 'offset', 'return', 'values', 'having', 'on']);

/** Every literal of the gold query present in the prediction (as a set: a value used twice need only appear once). */
export function literalsPresent(gold: readonly string[], predicted: readonly string[]): boolean {
  const have = new Set(predicted);
  return gold.every((l) => have.has(l));
}
