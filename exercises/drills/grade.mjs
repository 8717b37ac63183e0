// Reading and grading one drill answer. No Node APIs: the terminal quiz (drill.mjs) and the site's quiz
// (site/src/components/Quiz.tsx) import this module, so both refuse, read and grade answers by the same rules.
//
// An answer is first *read*: an empty or unreadable answer is refused with a message and is not an attempt. A read
// answer is then graded: multiple choice by the chosen option, numeric by the value within the tolerance, short
// answers by the rubric's misconceptions (stating one fails) and the learner's own marks of the key points covered.

// ---- seeded shuffling

/** FNV-1a over the string's code points: turns any seed (number or text) into 32 bits. */
function hash32(text) {
  let h = 0x811c9dc5;
  for (const ch of String(text)) { h ^= ch.codePointAt(0); h = Math.imul(h, 0x01000193) >>> 0; }
  return h;
}

/**
 * A repeatable random source in [0, 1) from a seed (number or string): xorshift32 (x ^= x<<13, x>>17, x<<5) on the
 * seed's hash, with the first outputs dropped so that neighbouring seeds (1, 2, …) do not start alike.
 */
export function seededRandom(seed) {
  let x = hash32(seed) || 0x9e3779b9;
  const next = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 4294967296; };
  for (let i = 0; i < 8; i++) next();
  return next;
}

/** Fisher–Yates on a copy. */
export function shuffled(items, rand) {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); [a[i], a[j]] = [a[j], a[i]]; }
  return a;
}

/**
 * The question as one attempt shows it: a multiple-choice question's options in a shuffled order (each keeps its
 * `correct` flag, so the right one stays identifiable) and `order[i]` = the file's index of the option shown at i.
 * Other questions come back as they are, with `order` empty.
 */
export function presentQuestion(q, rand) {
  if (q.type !== 'mcq') return { ...q, order: [] };
  const order = shuffled(q.options.map((_, i) => i), rand);
  return { ...q, options: order.map((i) => q.options[i]), order };
}

// ---- numbers and units

/** The units a numeric drill may be asked in: dimension, size in the dimension's base unit, what a learner may type. */
export const UNITS = {
  '': { dim: 'number', factor: 1, aliases: [] },
  '%': { dim: 'percent', factor: 1, aliases: ['%', 'percent', 'pct'] },
  bytes: { dim: 'bytes', factor: 1, aliases: ['b', 'byte', 'bytes'] },
  KB: { dim: 'bytes', factor: 1e3, aliases: ['kb', 'k', 'kilobyte', 'kilobytes'] },
  MB: { dim: 'bytes', factor: 1e6, aliases: ['mb', 'm', 'megabyte', 'megabytes'] },
  GB: { dim: 'bytes', factor: 1e9, aliases: ['gb', 'g', 'gigabyte', 'gigabytes'] },
  TB: { dim: 'bytes', factor: 1e12, aliases: ['tb', 't', 'terabyte', 'terabytes'] },
  KiB: { dim: 'bytes', factor: 2 ** 10, aliases: ['kib', 'kibibyte', 'kibibytes'] },
  MiB: { dim: 'bytes', factor: 2 ** 20, aliases: ['mib', 'mebibyte', 'mebibytes'] },
  GiB: { dim: 'bytes', factor: 2 ** 30, aliases: ['gib', 'gibibyte', 'gibibytes'] },
  bits: { dim: 'bits', factor: 1, aliases: ['bit', 'bits'] },
  parameters: { dim: 'parameters', factor: 1, aliases: ['parameter', 'parameters', 'param', 'params'] },
  FLOPs: { dim: 'flops', factor: 1, aliases: ['flop', 'flops'] },
  '×': { dim: 'times', factor: 1, aliases: ['×', 'x', 'times', 'fold'] },
  '× N': { dim: 'timesN', factor: 1, aliases: ['n', '×n', 'xn', '*n', 'timesn'] },
};

const DIMENSION = { number: 'a plain number', percent: 'a percentage', bytes: 'a size in bytes', bits: 'a number of bits', parameters: 'a number of parameters', flops: 'a number of floating-point operations', times: 'a factor', timesN: 'a multiple of N' };

/** Count suffixes: 0.5M = 500,000; B is a billion unless the answer is in bytes (then "12 B" is 12 bytes). */
const MULTIPLIERS = [['thousand', 1e3], ['million', 1e6], ['billion', 1e9], ['trillion', 1e12], ['bn', 1e9], ['mn', 1e6], ['k', 1e3], ['m', 1e6], ['b', 1e9], ['t', 1e12]];

const unitKey = (text) => text.toLowerCase().replace(/\s+/g, '');
const unitNamed = (text) => Object.keys(UNITS).find((u) => UNITS[u].aliases.includes(unitKey(text)));

/** A number as a person writes it: 500,000 · 0.0796 · 4.2e19 (exponent form below 1e-4 and from 1e15). */
export function formatNumber(v) {
  const r = Number(v.toPrecision(12)); // hides binary noise such as 0.30000000000000004
  if (r !== 0 && (Math.abs(r) >= 1e15 || Math.abs(r) < 1e-4)) return r.toExponential().replace('e+', 'e');
  return r.toLocaleString('en-US', { maximumFractionDigits: 12 });
}

/** A value with its unit, read naturally: "6", "12 GB", "1 parameter", "1,607×", "6 × N", "12 %". */
export function formatQuantity(v, unit) {
  const n = formatNumber(v);
  if (unit === '') return n;
  if (unit === '×') return `${n}×`;
  if (v === 1 && /s$/.test(unit) && unit !== 'FLOPs') return `${n} ${unit.slice(0, -1)}`;
  return `${n} ${unit}`;
}

// 1,843,200 · 1 843 200 · 1843200.5 · .5, then an optional exponent: 1.8e6, 4.2 × 10^19, 4.2x10**19
const NUMBER = /^([-+]?)((?:\d{1,3}(?:,\d{3})+|\d{1,3}(?: \d{3})+|\d+)(?:\.\d*)?|\.\d+)(?:\s*e\s*([-+]?\d+)|\s*[×x*·]\s*10\s*(?:\^|\*\*)\s*([-+]?\d+))?/i;

/**
 * Read a numeric answer in the question's unit. Returns { ok: true, value, read } where `read` says what was
 * understood ("read as 500,000 parameters"), or { ok: false, message } for an empty or unreadable answer.
 * A count suffix (k, M, B, thousand, …) multiplies; a unit of the same kind as the question's converts (an answer in
 * GB accepts "12000 MB" as 12; in bytes, "12 B" is 12 bytes); a unit of another kind is refused.
 */
export function readNumber(text, unit = '') {
  const want = UNITS[unit];
  if (!want) throw new TypeError(`readNumber: unknown unit '${unit}' (expected one of ${Object.keys(UNITS).map((u) => `'${u}'`).join(', ')})`);
  const example = `e.g. ${unit === 'parameters' ? '1,843,200, 1.8M or 1.8e6' : unit === '' ? '0.5 or 2' : `12 or 12 ${unit === '× N' ? 'N' : unit}`}`;
  const s = String(text ?? '').trim().replace(/\u2212/g, '-').replace(/^(?:~|≈|about|approx\.?|approximately)\s*/i, '');
  if (s === '') return { ok: false, message: `Type a number${unit ? ` (in ${unit})` : ''}, ${example}.` };
  const m = NUMBER.exec(s);
  if (!m) return { ok: false, message: `'${text}' is not a number: type one, ${example}.` };
  const rest = s.slice(m[0].length).trim();
  if (/^,\d/.test(rest) || /^\.\d/.test(rest)) return { ok: false, message: `'${text}': commas separate thousands (1,843,200); write decimals with a point (4.5).` };
  if (/\d/.test(rest)) return { ok: false, message: `'${text}' has more than one number: type a single number, ${example}.` };
  // parsed from the decimal text (5e-5, not 5 × 10**-5, which is 4.9999…e-5)
  const base = Number(`${m[1]}${m[2].replace(/[, ]/g, '')}e${m[3] ?? m[4] ?? 0}`);
  if (!Number.isFinite(base)) return { ok: false, message: `'${text}' is too large a number.` };
  // the ways to split what follows the number: a unit alone, or a count suffix then a unit (or nothing)
  const splits = [{ mult: 1, word: '', u: rest }];
  for (const [word, mult] of MULTIPLIERS) {
    if (rest.toLowerCase().startsWith(word)) splits.push({ mult, word, u: rest.slice(word.length).trim() });
  }
  let foreign = null;
  for (const { mult, word, u } of splits) {
    const name = u === '' ? unit : unitNamed(u);
    if (name === undefined) continue;
    if (UNITS[name].dim !== want.dim) { foreign ??= name; continue; }
    const typed = base * mult;
    const value = (typed * UNITS[name].factor) / want.factor;
    const asTyped = name !== unit ? `${formatQuantity(typed, name)} = ` : word ? `${s.slice(0, s.length - rest.length + word.length).trim()} = ` : '';
    return { ok: true, value, read: `read as ${asTyped}${formatQuantity(value, unit)}` };
  }
  if (foreign !== null) return { ok: false, message: `'${text}' is ${DIMENSION[UNITS[foreign].dim]}, but this answer is ${DIMENSION[want.dim]}${want.dim === 'bytes' ? ` (in ${unit})` : ''}: ${example}.` };
  return { ok: false, message: `'${rest}' after the number is not a unit this answer takes${unit ? ` (it is in ${unit})` : ''}: ${example}.` };
}

// ---- multiple choice

const letter = (i) => String.fromCharCode(65 + i);

/** Read a letter (A, b, "c)", "(d)") among the shown options: { ok, index } or { ok: false, message }. */
export function readChoice(text, optionCount) {
  const range = `a letter A–${letter(optionCount - 1)}`;
  const s = String(text ?? '').trim();
  if (s === '') return { ok: false, message: `Type ${range}.` };
  const m = /^\(?([a-z])[.)]?$/i.exec(s);
  const index = m ? m[1].toUpperCase().charCodeAt(0) - 65 : -1;
  if (index < 0 || index >= optionCount) return { ok: false, message: `'${s}' is not one of the options: type ${range}.` };
  return { ok: true, index };
}

// ---- short answers

const NEGATION = /\b(?:not|no|never|without|instead of|rather than|unlike|avoid\w*|myth|wrong|false)\b|n't\b/i;

/**
 * The rubric's misconceptions that an answer states: one of its patterns (case-insensitive regular expressions)
 * matches, and the same sentence does not negate it just before ("not always the biggest rank" states no
 * misconception).
 */
export function misconceptionsIn(q, text) {
  const t = String(text ?? '').replace(/[’‘]/g, "'").replace(/\s+/g, ' ');
  return (q.misconceptions ?? []).filter((mc) => mc.patterns.some((p) => {
    const re = new RegExp(p, 'gi');
    for (let m = re.exec(t); m; m = re.exec(t)) {
      const before = t.slice(0, m.index).split(/[.;!?]/).pop().slice(-30);
      if (!NEGATION.test(before)) return true;
      if (m[0] === '') re.lastIndex++;
    }
    return false;
  }));
}

const keyPoints = (q) => q.rubric.map((p, i) => `${i + 1}) ${p.point}`).join(' ');

// ---- grading

const tolerance = (q) => (q.tolerance.kind === 'relative' ? q.tolerance.value * Math.abs(q.answer) : q.tolerance.value);
const toleranceText = (q) => (q.tolerance.value === 0 ? 'exactly'
  : q.tolerance.kind === 'relative' ? `within ${formatNumber(100 * q.tolerance.value)} %` : `within ±${formatQuantity(q.tolerance.value, q.unit)}`);

/**
 * Grade an answer to a question as shown (for multiple choice, the options in the order the learner saw them).
 * Returns { valid: false, message } for an empty or unreadable answer: ask again, it is not an attempt.
 * Otherwise { valid: true, correct, feedback } (numeric answers add `read`). A short answer is graded in two steps:
 * without `covered` it fails at once if it states a misconception, and otherwise returns { valid: true, selfAssess:
 * true } — show the model answer and its key points, and grade again with `covered` (one boolean per key point, the
 * learner's own marks): it passes when it states no misconception and covers at least half of the key points.
 */
export function gradeAnswer(q, answer, covered) {
  if (q.type === 'mcq') {
    const r = readChoice(answer, q.options.length);
    if (!r.ok) return { valid: false, message: r.message };
    const chosen = q.options[r.index];
    const right = q.options.findIndex((o) => o.correct);
    if (chosen.correct) return { valid: true, correct: true, feedback: `Correct. ${chosen.explanation}` };
    return { valid: true, correct: false, feedback: `Not quite: ${chosen.explanation} The answer is ${letter(right)}, "${q.options[right].text}": ${q.options[right].explanation}` };
  }
  if (q.type === 'numeric') {
    const r = readNumber(answer, q.unit);
    if (!r.ok) return { valid: false, message: r.message };
    const correct = Math.abs(r.value - q.answer) <= tolerance(q) + 1e-12 * Math.abs(q.answer);
    const expected = `The answer is ${formatQuantity(q.answer, q.unit)} (${toleranceText(q)}). ${q.worked}`;
    return { valid: true, correct, read: r.read, feedback: `${correct ? 'Correct' : 'Not quite'} (${r.read}). ${expected}` };
  }
  const text = String(answer ?? '').trim();
  if (!/\p{L}/u.test(text)) return { valid: false, message: 'Write your answer in a sentence or two first.' };
  const stated = misconceptionsIn(q, text);
  if (stated.length) {
    return { valid: true, correct: false, misconceptions: stated, feedback: `Not quite: your answer says ${stated.map((mc) => `"${mc.text}" — ${mc.why}`).join(' Also, ')} Model answer: ${q.modelAnswer} Key points: ${keyPoints(q)}` };
  }
  if (covered === undefined) return { valid: true, selfAssess: true };
  if (!Array.isArray(covered) || covered.length !== q.rubric.length) throw new TypeError(`gradeAnswer: question ${q.id} needs one mark per key point (${q.rubric.length}), got ${JSON.stringify(covered)}`);
  const hit = covered.filter(Boolean).length;
  const correct = hit * 2 >= q.rubric.length;
  const missed = q.rubric.filter((_, i) => !covered[i]).map((p) => p.point);
  // the model answer was shown while marking, so the verdict does not repeat it
  return { valid: true, correct, feedback: `${correct ? 'Good' : 'Not enough of the key points'}: you covered ${hit} of ${q.rubric.length}${missed.length ? `; missing: ${missed.join('; ')}` : ''}.` };
}

/** The words of an answer that touch each key point (its keywords), as a hint while the learner marks them. */
export function mentionedKeywords(q, text) {
  const t = String(text ?? '').toLowerCase();
  return q.rubric.map((p) => (p.keywords ?? []).filter((k) => t.includes(k.toLowerCase())));
}
