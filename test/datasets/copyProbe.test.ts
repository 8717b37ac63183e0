/**
 * The copy probe (datasets/copy-probe/): its generator (scripts/make-copy-probe.mjs) and its scorer
 * (scripts/copy-probe.mjs), on the committed corpus and probe and on a fake decoder; the corpus's copy drills
 * (scripts/corpus-text.mjs).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COPY_KINDS, MONTHS, drawer, listDrill, recallDrill, spanDrill } from '../../scripts/corpus-text.mjs';
import { Rng } from '../../lib/src/util/rng.js';
import { makeCopyProbe, PER_KIND, PROBE_SEED } from '../../scripts/make-copy-probe.mjs';
import { copyMatch, readProbe, runCopyProbe, scoreCopyProbe, wilson } from '../../scripts/copy-probe.mjs';
import { FIRST_SPAN_ID, GEMMA_MICRO_CONFIG, corpusIdWeights, recallRows, repeatedSpanRows, weightedIds } from '../../scripts/synthetic-copy.mjs';

const root = join(import.meta.dirname, '../..');
const corpus = readFileSync(join(root, 'datasets/corpus/copy/corpus.txt'), 'utf8');
const probePath = join(root, 'datasets/copy-probe/probe.jsonl');
const probe = readProbe(probePath);

/** The value a target repeats, as the context states it: unquoted, and a 'YYYY-MM' month as "September 2022". */
function statedAs(kind: string, target: string): string {
  const v = target.trim().replace(/^'(.*)'$/, '$1');
  const m = /^(\d{4})-(\d{2})$/.exec(v);
  return kind === 'month' && m ? `${MONTHS[Number(m[2]) - 1]} ${m[1]}` : v;
}

describe('copy probe generator', () => {
  it('is deterministic in its seed, and another seed draws other items', () => {
    const sample = corpus.slice(0, 200_000);
    const a = makeCopyProbe(sample, { perKind: 3 });
    expect(makeCopyProbe(sample, { perKind: 3 })).toEqual(a);
    const b = makeCopyProbe(sample, { perKind: 3, seed: PROBE_SEED + 1 });
    expect(b.map((x) => x.context)).not.toEqual(a.map((x) => x.context));
  });

  it('the committed probe.jsonl is what the generator writes from the committed corpus', () => {
    expect(makeCopyProbe(corpus)).toEqual(probe);
  });

  it('has every kind, PER_KIND times, and about 400 items', () => {
    const counts = new Map<string, number>();
    for (const x of probe) counts.set(x.kind, (counts.get(x.kind) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual([...COPY_KINDS].sort());
    for (const k of COPY_KINDS) expect(counts.get(k), k).toBe(PER_KIND);
    expect(probe.length).toBeGreaterThanOrEqual(400);
  });

  it('every target repeats a value stated earlier in its context, and the context ends right before it', () => {
    for (const x of probe) {
      expect(x.context.includes(statedAs(x.kind, x.target)), `${x.kind}: ${x.context} -> ${x.target}`).toBe(true);
      expect(x.target.startsWith(' ') && !x.context.endsWith(' ')).toBe(true);
    }
  });

  it('no probe context (nor context + target) occurs in the corpus, and none repeats', () => {
    for (const x of probe) {
      expect(corpus.includes(x.context), x.context).toBe(false);
      expect(corpus.includes(x.context + x.target)).toBe(false);
    }
    expect(new Set(probe.map((x) => x.context)).size).toBe(probe.length);
  });

  it('the corpus never uses the fine-tuning format ("Question: ... SQL: ...")', () => {
    expect(corpus.includes('Question:')).toBe(false);
    expect(/^SQL:/m.test(corpus)).toBe(false);
  });
});

/** Occurrences of `part` in `text`, not overlapping. */
const count = (text: string, part: string) => text.split(part).length - 1;

describe('copy drills of the corpus', () => {
  const g = drawer(new Rng(99));

  it('a span drill states a span of 4–14 elements and repeats it 2–4 times', () => {
    for (let i = 0; i < 200; i++) {
      const d = spanDrill(g);
      const n = d.span.split(' ').length;
      expect(n).toBeGreaterThanOrEqual(4);
      expect(d.repeats).toBeGreaterThanOrEqual(2);
      expect(d.repeats).toBeLessThanOrEqual(4);
      // every repetition is the whole span, then a full stop
      expect(count(d.text, ` ${d.span}.`), d.text).toBeGreaterThanOrEqual(d.repeats + 1);
    }
  });

  it('a recall drill states 3–7 facts with distinct keys and asks 2 or more of them, each answered by its own value', () => {
    for (let i = 0; i < 300; i++) {
      const d = recallDrill(g);
      expect(d.pairs.length).toBeGreaterThanOrEqual(3);
      expect(d.pairs.length).toBeLessThanOrEqual(7);
      const keys = d.pairs.map(([k]) => k);
      for (const k of keys) expect(keys.filter((o) => o.includes(k)), d.text).toEqual([k]); // no key inside another
      expect(d.asked.length).toBeGreaterThanOrEqual(2);
      for (const [k, v] of d.asked) {
        expect(d.pairs).toContainEqual([k, v]);
        expect(count(d.text, v), `${k} -> ${v} in ${d.text}`).toBeGreaterThanOrEqual(2); // stated, then answered
      }
      // the paragraph ends with the last answer
      const [, last] = d.asked.at(-1)!;
      expect(d.text.endsWith(` ${last}.`) || d.text.endsWith(` ${last} coins.`), d.text).toBe(true);
    }
  });

  it('a list drill recalls its list in the same order 1–2 times', () => {
    for (let i = 0; i < 200; i++) {
      const d = listDrill(g);
      expect(d.list.split(', ').length).toBeGreaterThanOrEqual(4);
      expect(count(d.text, `: ${d.list}.`), d.text).toBe(d.repeats);
      expect(d.text.startsWith(`The list `) && d.text.includes(` is ${d.list}.`)).toBe(true);
    }
  });

  it('the committed corpus holds the drills and is mostly copy text', () => {
    expect(count(corpus, ', in the same order: ')).toBeGreaterThan(500);
    expect(count(corpus, ' Again: ') + count(corpus, ' Once more: ')).toBeGreaterThan(1000);
    const readme = readFileSync(join(root, 'datasets/corpus/copy/README.md'), 'utf8');
    const share = Number(/Copy text is ([\d.]+) %/.exec(readme)?.[1]);
    expect(share).toBeGreaterThan(60);
    expect(readme).toContain(`${corpus.length} characters`);
  });
});

describe('synthetic repeated spans (induction check and --synthetic-share)', () => {
  const opts = { vocabSize: 4096, minLen: 4, maxLen: 9, repeats: 2, bosId: 2, seed: 3 };

  it('rows of exactly seq tokens: <bos>, a random span, its repeats; loss only on the repeats', () => {
    const rows = repeatedSpanRows(20, 64, opts);
    expect(rows).toHaveLength(20);
    for (const r of rows) {
      expect(r.inputIds).toHaveLength(64);
      expect(r.labels).toHaveLength(64);
      expect(r.inputIds[0]).toBe(2);
      for (let t = 0; t < 64; t++) {
        if (r.inputIds[t] === 2) expect(r.labels[t]).toBe(-100);
        else {
          expect(r.inputIds[t]).toBeGreaterThanOrEqual(FIRST_SPAN_ID);
          expect(r.inputIds[t]).toBeLessThan(4096);
          expect([-100, r.inputIds[t]]).toContain(r.labels[t]);
        }
      }
      // segment by segment: L first-copy tokens unlabelled, then `repeats` labelled copies of them
      const starts = r.inputIds.flatMap((id, t) => (id === 2 ? [t] : []));
      for (const [i, s] of starts.entries()) {
        const end = starts[i + 1] ?? 64;
        const L = (end - s - 1) / 3;
        if (end === 64) continue; // the last segment is cut at the row's end
        expect(Number.isInteger(L) && L >= 4 && L <= 9, `segment at ${s}`).toBe(true);
        const span = r.inputIds.slice(s + 1, s + 1 + L);
        expect(r.inputIds.slice(s + 1 + L, end)).toEqual([...span, ...span]);
        expect(r.labels.slice(s + 1, s + 1 + L).every((y) => y === -100)).toBe(true);
        expect(r.labels.slice(s + 1 + L, end)).toEqual([...span, ...span]);
        // copy accuracy is scored on tokens 2..L of each repeat (the first token of a repeat is not determined)
        const repeatStarts = [s + 1 + L, s + 1 + 2 * L];
        const expected = repeatStarts.flatMap((a) => Array.from({ length: L - 1 }, (_, k) => a + 1 + k));
        expect(r.scored.filter((t) => t > s && t < end)).toEqual(expected);
      }
    }
  });

  it('scores tokens 2..L of each repeat: each is the token after the previous one in the copy before', () => {
    for (const r of repeatedSpanRows(10, 64, opts)) {
      expect(r.scored.length).toBeGreaterThan(0);
      for (const t of r.scored) {
        expect(t).toBeLessThan(64);
        expect(r.labels[t]).toBe(r.inputIds[t]); // a repeat's token, which carries a loss
        expect(r.labels[t - 1]).toBe(r.inputIds[t - 1]); // and so is the one before: the first token of a repeat is not scored
      }
    }
  });

  it('is deterministic in its seed and checks its lengths', () => {
    expect(repeatedSpanRows(3, 32, opts)).toEqual(repeatedSpanRows(3, 32, opts));
    expect(repeatedSpanRows(3, 32, { ...opts, seed: 4 })).not.toEqual(repeatedSpanRows(3, 32, opts));
    expect(() => repeatedSpanRows(1, 32, { ...opts, minLen: 1 })).toThrow(/2 <= minLen <= maxLen, got 1\.\.9/);
    expect(() => repeatedSpanRows(1, 32, { ...opts, minLen: 10 })).toThrow(/got 10\.\.9/);
  });

  it('a weighted share of the spans draws its ids by the corpus counts; with none, the rows are the uniform ones', () => {
    // ids 10 and 11 only, 9 : 1 in the corpus; power 1 keeps that ratio, power 0 makes them equal
    const corpusRows = [{ inputIds: [2, ...Array(90).fill(10), ...Array(10).fill(11), 1] }];
    const w1 = corpusIdWeights(corpusRows, 4096, 1);
    expect([w1[10], w1[11], w1[2], w1[1], w1[12]]).toEqual([90, 10, 0, 0, 0]); // special ids below FIRST_SPAN_ID never count
    expect(corpusIdWeights(corpusRows, 4096, 0)[11]).toBe(1);
    expect(() => corpusIdWeights(corpusRows, 4096, 2)).toThrow(/power in \[0, 1\], got 2/);
    const weighted = repeatedSpanRows(40, 64, { ...opts, idWeights: w1, weightedShare: 1 });
    const ids = weighted.flatMap((r) => r.inputIds.filter((id) => id !== 2));
    expect(new Set(ids)).toEqual(new Set([10, 11]));
    const tens = ids.filter((id) => id === 10).length / ids.length;
    expect(tens).toBeGreaterThan(0.85);
    expect(tens).toBeLessThan(0.95);
    // weightedShare 0 draws nothing extra from the generator: the same rows as before the option existed
    expect(repeatedSpanRows(5, 64, { ...opts, idWeights: w1, weightedShare: 0 })).toEqual(repeatedSpanRows(5, 64, opts));
    expect(() => repeatedSpanRows(1, 64, { ...opts, weightedShare: 0.5 })).toThrow(/needs idWeights of length 4096/);
  });

  it('recall rows: pairs "k is v." then every key again, loss only on the queried values and their end', () => {
    const SEP = 358;
    const END = 274;
    const w = new Float64Array(4096);
    for (let id = 500; id < 600; id++) w[id] = 1; // never SEP, END or <bos>, so the rows can be parsed back
    const rows = recallRows(30, 128, { draw: weightedIds(w), keyLen: [1, 3], valueLen: [1, 3], minPairs: 2, maxPairs: 6, sep: [SEP], end: [END], bosId: 2, seed: 5 });
    let queries = 0;
    for (const r of rows) {
      expect(r.inputIds).toHaveLength(128);
      expect(r.labels).toHaveLength(128);
      // split into segments at <bos>, each into its "x is y." items (the last segment may be cut)
      const starts = r.inputIds.flatMap((id, t) => (id === 2 ? [t] : []));
      expect(starts[0]).toBe(0);
      for (const [i, s] of starts.entries()) {
        const end = starts[i + 1];
        if (end === undefined) continue;
        const items: { key: string; value: string; labelled: boolean[] }[] = [];
        let t = s + 1;
        while (t < end) {
          const sep = r.inputIds.indexOf(SEP, t);
          const stop = r.inputIds.indexOf(END, sep);
          items.push({ key: r.inputIds.slice(t, sep).join(','), value: r.inputIds.slice(sep + 1, stop).join(','), labelled: r.labels.slice(t, stop + 1).map((y) => y !== -100) });
          t = stop + 1;
        }
        expect(items.length % 2).toBe(0);
        const n = items.length / 2;
        expect(n).toBeGreaterThanOrEqual(2);
        expect(n).toBeLessThanOrEqual(6);
        const stated = new Map(items.slice(0, n).map((x) => [x.key, x.value]));
        expect(stated.size).toBe(n); // distinct keys
        for (const x of items.slice(0, n)) expect(x.labelled.every((l) => !l)).toBe(true);
        const asked = items.slice(n);
        expect(new Set(asked.map((x) => x.key))).toEqual(new Set(stated.keys())); // each key once
        for (const x of asked) {
          expect(x.value).toBe(stated.get(x.key)); // the answer is the stated value
          const k = x.key.split(',').length;
          // key and SEP unlabelled; the value and END labelled
          expect(x.labelled).toEqual([...Array(k + 1).fill(false), ...Array(x.value.split(',').length + 1).fill(true)]);
          queries++;
        }
      }
    }
    expect(queries).toBeGreaterThan(50);
    expect(recallRows(2, 64, { draw: weightedIds(w), keyLen: [1, 2], valueLen: [1, 2], minPairs: 2, maxPairs: 3, sep: [SEP], end: [END], bosId: 2, seed: 5 }))
      .toEqual(recallRows(2, 64, { draw: weightedIds(w), keyLen: [1, 2], valueLen: [1, 2], minPairs: 2, maxPairs: 3, sep: [SEP], end: [END], bosId: 2, seed: 5 }));
    expect(() => recallRows(1, 64, { draw: weightedIds(w), keyLen: [0, 2], valueLen: [1, 2], minPairs: 2, maxPairs: 3, sep: [SEP], end: [END], bosId: 2, seed: 5 })).toThrow(/keyLen \[min, max\]/);
    expect(() => weightedIds(new Float64Array(8))).toThrow(/all zero/);
  });

  it('templated recall rows: each segment states "k F v T." and asks "P k Q", answered "v."; templated 0 is the plain form', () => {
    const END = 274;
    const w = new Float64Array(4096);
    for (let id = 500; id < 600; id++) w[id] = 1;
    const base = { draw: weightedIds(w), keyLen: [1, 2] as [number, number], valueLen: [1, 2] as [number, number], minPairs: 2, maxPairs: 5, sep: [358], end: [END], bosId: 2, seed: 12 };
    expect(recallRows(4, 96, { ...base, templated: 0 })).toEqual(recallRows(4, 96, base));
    const rows = recallRows(30, 128, { ...base, templated: 1 });
    let checked = 0;
    for (const r of rows) {
      expect(r.inputIds).toHaveLength(128);
      expect(r.inputIds.includes(358)).toBe(false); // a templated segment has no " is" of its own
      const starts = r.inputIds.flatMap((id, t) => (id === 2 ? [t] : []));
      for (const [i, s] of starts.entries()) {
        const end = starts[i + 1];
        if (end === undefined) continue;
        // the segment's items, each ending at END: n statements, then n questions whose labelled tail is "v."
        const items: number[][] = [];
        const labelled: boolean[][] = [];
        let from = s + 1;
        for (let t = s + 1; t < end; t++) {
          if (r.inputIds[t] !== END) continue;
          items.push(r.inputIds.slice(from, t + 1));
          labelled.push(r.labels.slice(from, t + 1).map((y) => y !== -100));
          from = t + 1;
        }
        const n = items.length / 2;
        expect(Number.isInteger(n) && n >= 2 && n <= 5).toBe(true);
        for (const l of labelled.slice(0, n)) expect(l.every((x) => !x)).toBe(true);
        for (const [q, l] of labelled.slice(n).entries()) {
          const answer = items[n + q].filter((_, k) => l[k]);
          expect(answer.at(-1)).toBe(END);
          expect(l.slice(l.indexOf(true)).every((x) => x)).toBe(true); // the answer is the question's tail
          const v = answer.slice(0, -1).join(',');
          // some statement holds the answer's value just before its END (or its one trailing token)
          expect(items.slice(0, n).some((st) => [st.slice(0, -1), st.slice(0, -2)].some((x) => x.join(',').endsWith(v)))).toBe(true);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(40);
    expect(() => recallRows(1, 64, { ...base, templated: 2 })).toThrow(/templated in \[0, 1\], got 2/);
    expect(() => recallRows(1, 64, { ...base, templated: 1, fillerLen: [0, 2] })).toThrow(/fillerLen \[min, max\] with 1 <= min/);
  });

  it("the shared config is gemma-micro's, the committed gemma-micro-copy's config.json", () => {
    const committed = JSON.parse(readFileSync(join(root, 'datasets/models/gemma-micro-copy/config.json'), 'utf8'));
    expect(committed).toEqual({ ...GEMMA_MICRO_CONFIG });
  });
});

describe('copy probe scorer', () => {
  it('copyMatch: the decoded text starts with the target and the value ends there', () => {
    expect(copyMatch(' 48213', ' 48213.')).toBe(true);
    expect(copyMatch(' 48213', ' 48213')).toBe(true);
    expect(copyMatch(" 'Vienna'", " 'Vienna';\n")).toBe(true);
    expect(copyMatch(' 2022-09', ' 2022-09 and')).toBe(true);
    expect(copyMatch(' 48213', ' 482139')).toBe(false); // a longer number is another value
    expect(copyMatch(' Klara', ' Klaras')).toBe(false);
    expect(copyMatch(' 48213', '48213')).toBe(false); // the space is part of the target
    expect(copyMatch(' Oslo', ' Olso')).toBe(false);
    expect(copyMatch(' Oslo', '')).toBe(false);
  });

  it('wilson: the 95 % score interval, inside [0, 1] even at 0 and n', () => {
    const [lo, hi] = wilson(5, 10);
    expect(lo).toBeCloseTo(0.2366, 4);
    expect(hi).toBeCloseTo(0.7634, 4);
    expect(wilson(0, 10)[0]).toBe(0);
    expect(wilson(0, 10)[1]).toBeCloseTo(0.2775, 4);
    expect(wilson(10, 10)[1]).toBeCloseTo(1, 12);
    expect(wilson(10, 10)[0]).toBeCloseTo(0.7225, 4);
    const [a, b] = wilson(380, 400);
    expect(a).toBeLessThan(0.95);
    expect(b).toBeGreaterThan(0.95);
    expect(() => wilson(3, 2)).toThrow(/k <= n/);
    expect(() => wilson(0, 0)).toThrow(/n > 0/);
  });

  it('scores a fake decoder per kind and overall: right only where it copies the target', async () => {
    const items = [
      { context: 'The code of Ana is 12.  The code of Ana is', target: ' 12', kind: 'key_value' },
      { context: 'Bo has the code 7. Bo has the code', target: ' 7', kind: 'key_value' },
      { context: 'Ana lives in Oslo. So the city of Ana is', target: ' Oslo', kind: 'city' },
      { context: 'Bo lives in Rome. So the city of Bo is', target: ' Rome', kind: 'city' },
    ];
    // copies key_value targets, and for cities always says Oslo (right once by coincidence of the kind's few values)
    const decode = (contexts: string[], targets: string[]) => contexts.map((_, i) => (items[i].kind === 'key_value' ? `${targets[i]}.` : ' Oslo.'));
    const s = await runCopyProbe(items, decode);
    expect(s.overall).toMatchObject({ correct: 3, n: 4, rate: 0.75 });
    expect(s.overall.ci95).toEqual(wilson(3, 4));
    expect(s.perKind.key_value).toMatchObject({ correct: 2, n: 2, rate: 1 });
    expect(s.perKind.city).toMatchObject({ correct: 1, n: 2, rate: 0.5 });
    expect(Object.keys(s.perKind)).toEqual(['city', 'key_value']); // in COPY_KINDS order
    expect(s.failures).toEqual([{ kind: 'city', context: items[3].context, target: ' Rome', generated: ' Oslo.' }]);
    expect(() => scoreCopyProbe(items, [' 12'])).toThrow(/1 outputs for 4 items/);
  });

  it('readProbe names the file, line and field of a bad record', () => {
    const dir = mkdtempSync(join(tmpdir(), 'copy-probe-'));
    const bad = (lines: string[]) => {
      const p = join(dir, `p${lines.length}${lines[0].length}.jsonl`);
      writeFileSync(p, lines.join('\n'));
      return () => readProbe(p);
    };
    const ok = JSON.stringify({ context: 'a is 1. a is', target: ' 1', kind: 'key_value' });
    expect(bad([ok, '{"context": "x", "target": 1, "kind": "id"}'])).toThrow(/p2\d+\.jsonl:2: field 'target' must be a string/);
    expect(bad([ok, JSON.stringify({ context: 'x', target: '1', kind: 'id' })])).toThrow(/:2: field 'target' must be a space and a value/);
    expect(bad([JSON.stringify({ context: 'x', target: ' 1', kind: 'colour' })])).toThrow(/:1: field 'kind' must be one of id, number/);
    expect(bad(['not json'])).toThrow(/:1: not valid JSON/);
    expect(() => readProbe(join(dir, 'missing.jsonl'))).toThrow(/missing\.jsonl: no such file/);
  });

  it.each(['gemma-micro', 'gemma-micro-copy'])('the committed score of %s is of the committed model and probe and covers every kind', (name) => {
    const score = JSON.parse(readFileSync(join(root, `datasets/copy-probe/score-${name}.json`), 'utf8'));
    const sha = (p: string) => createHash('sha256').update(readFileSync(join(root, p))).digest('hex');
    expect(score.modelSha256).toBe(sha(`datasets/models/${name}/model.safetensors`));
    expect(score.probeSha256).toBe(sha('datasets/copy-probe/probe.jsonl'));
    expect(Object.keys(score.perKind)).toEqual(COPY_KINDS);
    expect(score.overall.n).toBe(probe.length);
  });

  it("gemma-micro-copy's curve ends with the full-probe score of the committed model", () => {
    const curve = JSON.parse(readFileSync(join(root, 'datasets/copy-probe/curve-gemma-micro-copy.json'), 'utf8'));
    const score = JSON.parse(readFileSync(join(root, 'datasets/copy-probe/score-gemma-micro-copy.json'), 'utf8'));
    const log = readFileSync(join(root, 'datasets/models/gemma-micro-copy/training_log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const full = curve.points.filter((p: { items: number }) => p.items === probe.length);
    expect(full.at(-1)).toMatchObject({ step: log.at(-1).step, correct: score.overall.correct });
    expect(log.map((r: { step: number }) => r.step)).toEqual(log.map((_: unknown, i: number) => i + 1)); // every step, once
  });
});
