/**
 * JSON text exactly as Python's `json.dumps` writes it with default arguments: separators ", " and ": ", floats in
 * `repr` form (shortest round-trip digits; exponent form below 1e-4 or from 1e16, like "1e-05", "2.5", "3.0").
 * bitsandbytes stores its quant state as these bytes, so we must write them the same way.
 */
export type PyJson = string | number | boolean | null | PyFloat | PyJson[] | { [k: string]: PyJson };

/** A number that Python holds as a float (printed "3.0", not "3"). */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** Python's repr() of a float. */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  // toExponential() without an argument gives the shortest digits that round-trip, like Python's repr.
  const [mant, expStr] = x.toExponential().split('e');
  const exp = Number(expStr);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  let body: string;
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp);
    body = `${m}e${exp < 0 ? '-' : '+'}${e < 10 ? '0' : ''}${e}`;
  } else if (exp < 0) {
    body = `0.${'0'.repeat(-exp - 1)}${digits}`;
  } else if (digits.length <= exp + 1) {
    body = `${digits}${'0'.repeat(exp + 1 - digits.length)}.0`;
  } else {
    body = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  }
  return neg ? `-${body}` : body;
}

/**
 * json.dumps(value, indent=N, sort_keys=...) as Python writes it: with an indent, items are separated by ",\n" plus the
 * indent and keys by ": "; empty lists and dicts stay "[]" and "{}".
 */
export function pyJsonDumpsIndent(v: PyJson, opts: { indent?: number; sortKeys?: boolean } = {}): string {
  const step = ' '.repeat(opts.indent ?? 2);
  const go = (x: PyJson, level: number): string => {
    const pad = step.repeat(level + 1);
    const end = step.repeat(level);
    if (x === null || typeof x !== 'object' || x instanceof PyFloat) return pyJsonDumps(x);
    if (Array.isArray(x)) return x.length ? `[\n${x.map((e) => pad + go(e, level + 1)).join(',\n')}\n${end}]` : '[]';
    const keys = Object.keys(x);
    if (opts.sortKeys) keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return keys.length ? `{\n${keys.map((k) => `${pad}${pyString(k)}: ${go(x[k], level + 1)}`).join(',\n')}\n${end}}` : '{}';
  };
  return go(v, 0);
}

/** json.dumps(value) with Python's default separators; JS numbers that are integers print as Python ints. */
export function pyJsonDumps(v: PyJson): string {
  if (v === null) return 'null';
  if (v instanceof PyFloat) return pyFloatRepr(v.value);
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : pyFloatRepr(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'string') return pyString(v);
  if (Array.isArray(v)) return `[${v.map(pyJsonDumps).join(', ')}]`;
  return `{${Object.entries(v).map(([k, x]) => `${pyString(k)}: ${pyJsonDumps(x)}`).join(', ')}}`;
}

/** Python's json string escaping with ensure_ascii=True: non-ASCII as \uXXXX (surrogate pairs for astral). */
function pyString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i];
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (c < 0x20 || c > 0x7e) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}
