// Runs in its own process (started by grade.mjs with a memory limit and killed at the time limit): loads the
// learner's compiled module and the exercise's checks, and prints one JSON line per event so that the parent keeps
// every result reported before a hang or a crash.
import { pathToFileURL } from 'node:url';

const [learnerPath, checksPath] = process.argv.slice(2);
const emit = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

function fmt(v) {
  return typeof v === 'number' ? (Number.isInteger(v) ? String(v) : Number(v.toPrecision(6)).toString()) : JSON.stringify(v)?.slice(0, 80) ?? String(v);
}
function asArray(v, what) {
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return v;
  throw new Error(`${what}: expected an array or typed array, got ${v === null ? 'null' : typeof v}`);
}
function lcg(seed) {
  let s = seed >>> 0 || 1;
  const uniform = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
  return { uniform, normal: () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()) };
}
const helpers = {
  fail(message) {
    throw new Error(message);
  },
  close(actual, expected, tol, what) {
    if (typeof actual !== 'number' || Number.isNaN(actual)) throw new Error(`${what}: expected a number close to ${fmt(expected)}, got ${fmt(actual)}`);
    if (!(Math.abs(actual - expected) <= tol)) throw new Error(`${what}: got ${fmt(actual)}, expected ${fmt(expected)} (tolerance ±${tol})`);
  },
  closeRel(actual, expected, rtol, what) {
    if (typeof actual !== 'number' || Number.isNaN(actual)) throw new Error(`${what}: expected a number close to ${fmt(expected)}, got ${fmt(actual)}`);
    if (!(Math.abs(actual - expected) <= rtol * Math.abs(expected))) throw new Error(`${what}: got ${fmt(actual)}, expected ${fmt(expected)} (relative tolerance ${rtol}; off by ${((100 * Math.abs(actual - expected)) / Math.abs(expected)).toPrecision(3)} %)`);
  },
  allClose(actual, expected, tol, what) {
    const a = asArray(actual, what);
    if (a.length !== expected.length) throw new Error(`${what}: got ${a.length} values, expected ${expected.length}`);
    for (let i = 0; i < a.length; i++) {
      if (!(Math.abs(a[i] - expected[i]) <= tol)) throw new Error(`${what}: element ${i} is ${fmt(a[i])}, expected ${fmt(expected[i])} (tolerance ±${tol})`);
    }
  },
  arrayEqual(actual, expected, what, explain) {
    const a = asArray(actual, what);
    if (a.length !== expected.length) throw new Error(`${what}: got ${a.length} values, expected ${expected.length}`);
    for (let i = 0; i < a.length; i++) {
      if (a[i] !== expected[i]) throw new Error(`${what} differ at element ${i}: got ${fmt(a[i])}, expected ${fmt(expected[i])}${explain ? `. ${explain(i, a[i], expected[i])}` : ''}`);
    }
  },
  rng: lcg,
};

let learner;
try {
  learner = await import(pathToFileURL(learnerPath).href);
} catch (e) {
  emit({ type: 'load-error', message: String(e?.stack ?? e).split('\n').slice(0, 4).join('\n') });
  process.exit(0);
}
const ex = (await import(pathToFileURL(checksPath).href)).default;
const missing = ex.exports.filter((n) => !(n in learner));
if (missing.length) {
  emit({ type: 'missing-exports', names: missing });
  process.exit(0);
}
for (const c of ex.checks) {
  emit({ type: 'start', name: c.name });
  try {
    await c.run(learner, helpers);
    emit({ type: 'result', name: c.name, ok: true });
  } catch (e) {
    emit({ type: 'result', name: c.name, ok: false, message: e instanceof Error ? e.message : String(e) });
  }
}
emit({ type: 'done' });
