// The `t` of every check (see types.ts): comparisons whose messages are written for the learner, and seeded inputs.
// They run in the checker, never in the learner's process, so nothing the learner's code does can change them.

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
export const helpers = {
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

