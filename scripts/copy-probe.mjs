// Scores a model on the copy probe (datasets/copy-probe/probe.jsonl): greedy decoding of each context; an item counts
// when the decoded text starts with the target and the value ends there. Prints, and with --out writes as JSON, the
// exact-match rate per kind and overall with 95 % Wilson intervals, the model file's SHA-256, the command and the date.
// Run: npm run build && node scripts/copy-probe.mjs [--model datasets/models/gemma-micro] [--probe FILE] [--out FILE]
//      [--limit N] [--batch 32]
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { COPY_KINDS } from './corpus-text.mjs';
import { rate, wilson } from '../lib/dist/util/stats.js';

// The one Wilson interval every LoRA Lab accuracy uses (lib/src/util/stats.ts); re-exported for the probe's callers.
export { wilson };

/** Exact match: the generated text starts with the target and the value stops there (no letter or digit follows). */
export function copyMatch(target, generated) {
  if (!generated.startsWith(target)) return false;
  const next = generated.slice(target.length, target.length + 1);
  return !/[\p{L}\p{N}]/u.test(next);
}

/** The probe file's items, each checked: context and target strings (target starting with a space), a known kind. */
export function readProbe(path) {
  if (!existsSync(path)) throw new Error(`${path}: no such file (make it with node scripts/make-copy-probe.mjs)`);
  const lines = readFileSync(path, 'utf8').split('\n');
  const items = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let v;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new Error(`${path}:${i + 1}: not valid JSON (${e.message})`);
    }
    for (const f of ['context', 'target', 'kind']) {
      if (typeof v?.[f] !== 'string') throw new Error(`${path}:${i + 1}: field '${f}' must be a string, got ${JSON.stringify(v?.[f])}`);
    }
    if (!v.target.startsWith(' ') || v.target.length < 2) throw new Error(`${path}:${i + 1}: field 'target' must be a space and a value, got ${JSON.stringify(v.target)}`);
    if (!COPY_KINDS.includes(v.kind)) throw new Error(`${path}:${i + 1}: field 'kind' must be one of ${COPY_KINDS.join(', ')}, got ${JSON.stringify(v.kind)}`);
    items.push({ context: v.context, target: v.target, kind: v.kind });
  });
  if (!items.length) throw new Error(`${path}: no items`);
  return items;
}

/** Exact-match rate overall and per kind (in COPY_KINDS order), and up to `keepFailures` failures per kind. */
export function scoreCopyProbe(items, outputs, { keepFailures = 3 } = {}) {
  if (outputs.length !== items.length) throw new Error(`copy probe: ${outputs.length} outputs for ${items.length} items`);
  const byKind = new Map();
  const failures = [];
  items.forEach((it, i) => {
    const ok = copyMatch(it.target, outputs[i]);
    const s = byKind.get(it.kind) ?? { correct: 0, n: 0, failed: 0 };
    s.n++;
    if (ok) s.correct++;
    else if (s.failed++ < keepFailures) failures.push({ kind: it.kind, context: it.context, target: it.target, generated: outputs[i] });
    byKind.set(it.kind, s);
  });
  const correct = [...byKind.values()].reduce((a, s) => a + s.correct, 0);
  const perKind = Object.fromEntries(COPY_KINDS.filter((k) => byKind.has(k)).map((k) => [k, rate(byKind.get(k).correct, byKind.get(k).n)]));
  return { overall: rate(correct, items.length), perKind, failures };
}

/** Decodes every item with `decode(contexts, targets) => texts` (batched by the caller's choice) and scores it. */
export async function runCopyProbe(items, decode) {
  const outputs = await decode(items.map((x) => x.context), items.map((x) => x.target));
  return scoreCopyProbe(items, outputs);
}

/**
 * A greedy decoder over a Gemma and its tokenizer, through the library's generateBatch (the same picks as generate
 * for each prompt alone): prompt = <bos> context; enough new tokens for the target's own tokens and a few more.
 */
export async function modelDecoder(model, tok, { batchSize = 32 } = {}) {
  const { generateBatch } = await import('../lib/dist/train/index.js');
  return (contexts, targets) => {
    const outs = [];
    for (let s = 0; s < contexts.length; s += batchSize) {
      const cs = contexts.slice(s, s + batchSize);
      const maxNew = Math.max(...targets.slice(s, s + batchSize).map((t) => tok.encode(t, { addSpecialTokens: false }).length)) + 2;
      const ids = generateBatch(model, cs.map((c) => tok.encode(c, { addSpecialTokens: true })), { maxNewTokens: maxNew });
      outs.push(...ids.map((x) => tok.decode(x, { skipSpecialTokens: true })));
    }
    return outs;
  };
}

const fileSha256 = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const root = new URL('..', import.meta.url).pathname;
  const arg = (k, d) => {
    const i = process.argv.indexOf(k);
    return i < 0 ? d : process.argv[i + 1];
  };
  const modelDir = arg('--model', join(root, 'datasets/models/gemma-micro'));
  const probePath = arg('--probe', join(root, 'datasets/copy-probe/probe.jsonl'));
  const outPath = arg('--out', undefined);
  const limit = Number(arg('--limit', 0));
  const batchSize = Number(arg('--batch', 32));
  const { initBackend } = await import('../lib/dist/backend/index.js');
  const { loadGemma } = await import('../lib/dist/models/gemma/index.js');
  await initBackend();
  let items = readProbe(probePath);
  if (limit > 0) items = items.filter((_, i) => i % Math.ceil(items.length / limit) === 0);
  const { model, tokenizer } = loadGemma(modelDir);
  if (!tokenizer) throw new Error(`${modelDir}: no tokenizer.json (the copy probe decodes text)`);
  const t0 = performance.now();
  const score = await runCopyProbe(items, await modelDecoder(model, tokenizer, { batchSize }));
  const seconds = (performance.now() - t0) / 1000;
  const pct = (r) => `${(100 * r.rate).toFixed(1)} % [${(100 * r.ci95[0]).toFixed(1)}, ${(100 * r.ci95[1]).toFixed(1)}] (${r.correct}/${r.n})`;
  for (const [k, r] of Object.entries(score.perKind)) console.log(`${k.padEnd(13)} ${pct(r)}`);
  console.log(`${'overall'.padEnd(13)} ${pct(score.overall)}   ${seconds.toFixed(0)} s`);
  if (outPath) {
    const rel = (p) => relative(root, p) || '.';
    const report = {
      model: rel(modelDir), modelSha256: fileSha256(join(modelDir, 'model.safetensors')),
      probe: rel(probePath), probeSha256: fileSha256(probePath),
      command: `node scripts/copy-probe.mjs ${process.argv.slice(2).join(' ')}`.trim(),
      date: new Date().toISOString(), seconds: Math.round(seconds),
      metric: 'exact match of greedy decoding (decoded text starts with the target, no letter or digit after it); 95 % Wilson intervals',
      ...score,
    };
    writeFileSync(outPath, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`wrote ${outPath}`);
  }
}
