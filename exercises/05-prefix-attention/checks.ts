import type { Exercise, Helpers } from '../grader/types.js';

type M = number[][];
type Fn = (q: M, k: M, v: M, pk: M, pv: M) => M;
function reference(q: M, k: M, v: M, pk: M, pv: M): M {
  const d = q[0].length;
  return q.map((qi, i) => {
    const keys = [...pk, ...k.slice(0, i + 1)], vals = [...pv, ...v.slice(0, i + 1)];
    const s = keys.map((kj) => kj.reduce((a, x, t) => a + x * qi[t], 0) / Math.sqrt(d));
    const mx = Math.max(...s), w = s.map((x) => Math.exp(x - mx)), z = w.reduce((a, b) => a + b, 0);
    return vals[0].map((_, c) => w.reduce((a, wj, j) => a + (wj / z) * vals[j][c], 0));
  });
}
const rand = (n: number, d: number, g: { normal(): number }, s = 1) => Array.from({ length: n }, () => Array.from({ length: d }, () => s * g.normal()));
function check(fn: Fn, t: Helpers, seed: number, T: number, P: number, d: number, scale = 1) {
  const g = t.rng(seed);
  const q = rand(T, d, g, scale), k = rand(T, d, g, scale), v = rand(T, d, g), pk = rand(P, d, g, scale), pv = rand(P, d, g);
  const got = fn(q, k, v, pk, pv);
  if (!Array.isArray(got) || got.length !== T) t.fail(`expected ${T} output rows, got ${Array.isArray(got) ? got.length : typeof got}`);
  t.allClose(got.flat(), reference(q, k, v, pk, pv).flat(), 1e-9, `outputs (T=${T}, P=${P}, d=${d}; element i·${d}+c is row i, column c)`);
}

export default {
  title: 'Attention with a trainable prefix',
  exports: ['attentionWithPrefix'],
  forbiddenImports: ['PrefixKV', 'addPrefixTuning', 'GemmaAttention'],
  readNext: 'notebooks/05-adapters-prefix-lora.ipynb; Li & Liang (2021), section 4',
  checks: [
    { name: 'no prefix: causal attention scaled by 1/√d', points: 3, hint: 'row i sees keys 0..i only; divide scores by √d', run: (m, t) => check(m.attentionWithPrefix as Fn, t, 1, 6, 0, 8) },
    { name: 'prefix of 3 and of 16', points: 4, hint: 'every row attends to all P prefix keys, then to real keys 0..i', run: (m, t) => { check(m.attentionWithPrefix as Fn, t, 2, 5, 3, 4); check(m.attentionWithPrefix as Fn, t, 3, 7, 16, 8); } },
    { name: 'large scores stay finite', points: 2, hint: 'softmax(s) = exp(s − max s) / Σ exp(s − max s)', run: (m, t) => check(m.attentionWithPrefix as Fn, t, 4, 4, 2, 4, 40) },
  ],
} satisfies Exercise;
