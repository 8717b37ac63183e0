// Writes datasets/copy-probe/probe.jsonl: held-out contexts whose next tokens must repeat a value stated earlier in
// the context, {"context", "target", "kind"} per line, PER_KIND of every kind in scripts/corpus-text.mjs. The text is
// the corpus's copy text drawn from another seed; an item whose context (or whose context and target together) occurs
// in datasets/corpus/copy/corpus.txt is drawn again, so the probe measures copying, not recall of the corpus.
// Run: npm run build && node scripts/make-copy-probe.mjs   (after scripts/make-corpus.mjs)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Rng } from '../lib/dist/util/rng.js';
import { COPY_KINDS, copyItem, drawer } from './corpus-text.mjs';

export const PROBE_SEED = 15015;
export const PER_KIND = 19;

/** The probe items: for each kind, `perKind` items not found in `corpus` and not repeated. Deterministic in `seed`. */
export function makeCopyProbe(corpus, { seed = PROBE_SEED, perKind = PER_KIND } = {}) {
  const g = drawer(new Rng(seed));
  const items = [];
  const seen = new Set();
  for (const kind of COPY_KINDS) {
    let made = 0;
    for (let tries = 0; made < perKind; tries++) {
      if (tries > 100 * perKind) throw new Error(`copy probe: could not draw ${perKind} fresh '${kind}' items`);
      const { prefix, target } = copyItem(g, kind);
      if (seen.has(prefix) || corpus.includes(prefix) || corpus.includes(prefix + target)) continue;
      seen.add(prefix);
      items.push({ context: prefix, target, kind });
      made++;
    }
  }
  return items;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const root = new URL('..', import.meta.url).pathname;
  const corpus = readFileSync(`${root}datasets/corpus/copy/corpus.txt`, 'utf8');
  const items = makeCopyProbe(corpus);
  const out = `${root}datasets/copy-probe/`;
  mkdirSync(out, { recursive: true });
  writeFileSync(`${out}probe.jsonl`, items.map((x) => JSON.stringify(x)).join('\n') + '\n');
  writeFileSync(`${out}README.md`, `# Copy probe

Can a base model copy a value from its context? \`probe.jsonl\` holds ${items.length} contexts, ${PER_KIND} of each of ${COPY_KINDS.length} kinds
(${COPY_KINDS.join(', ')}), as \`{"context", "target", "kind"}\`: the context states a value (often beside other values
of the same kind) and ends where the value must be repeated; \`target\` is that repetition, starting with its space.

- Made by \`scripts/make-copy-probe.mjs\` (seed ${PROBE_SEED}) from the same generators as the pre-training corpus
  (\`scripts/corpus-text.mjs\`) but another seed; no context occurs in \`datasets/corpus/copy/corpus.txt\`, so random values
  (made-up names, long numbers, codes) are new to the model.
- Scored by \`node scripts/copy-probe.mjs --model <dir>\`: greedy decoding of each context; an item counts when the
  decoded text starts with the target and the value ends there (no letter or digit follows). Exact-match rate per kind
  and overall, with 95 % Wilson intervals.
- \`score-gemma-micro.json\`: the committed base model's score. \`score-gemma-micro-copy.json\`, \`curve-gemma-micro-copy.json\`:
  the base being pre-trained to copy (\`datasets/models/gemma-micro-copy/\`, whose README says how) and its probe score by step.
- \`score-copy-drill-step-500.json\`, \`curve-copy-drill.json\`, \`copy-drill-training_log.jsonl\`: the run it starts from,
  800 steps on the drill corpus \`datasets/corpus/copy/\` from step 1250 of the run below (weights not committed), still
  at chance.
- \`induction-check/\`: can gemma-micro's architecture, as LoRA Lab implements it, learn to copy at all? Synthetic
  repeated-span runs of \`scripts/induction-check.mjs\` and what they show (its README).
- \`score-copy-base-step-1500.json\`, \`curve-copy-base.json\`, \`copy-base-training_log.jsonl\`: an earlier 1500-step run
  on the first copy corpus (cosine to 0; weights not committed), scored on the probe as it was then (commit cec0ca4;
  the corpus's drills made the generator redraw 64 of the 418 items since, the \`probeSha256\` fields tell them apart).
`);
  console.log(`${items.length} probe items`);
}
