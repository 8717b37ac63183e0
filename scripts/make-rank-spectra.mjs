// Singular values of a real fine-tuning update, for exercises/08-rank-budget: every linear layer of gemma-micro
// fully fine-tuned for 40 steps on the text-to-SQL task (as in notebook 3), then the top 32 singular values of each
// ΔW = W − W₀. Run: npm run build && node scripts/make-rank-spectra.mjs
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../lib/dist/backend/index.js';
import { loadGemma } from '../lib/dist/models/gemma/index.js';
import { Linear } from '../lib/dist/layers/index.js';
import { svdJacobi } from '../lib/dist/linalg/index.js';
import { Trainer, variablesTrainableSet, readJsonl, buildExample, SQL_TEMPLATE } from '../lib/dist/train/index.js';

const root = new URL('..', import.meta.url).pathname;
await initBackend();
const { model, tokenizer, config } = loadGemma(join(root, 'datasets/models/gemma-micro'));
const train = readJsonl(join(root, 'datasets/sql/train.jsonl'), ['question', 'sql']).slice(0, 2000).map((r) => buildExample(tokenizer, SQL_TEMPLATE, r, { maxLength: 160, eosId: config.eosTokenId }));
const linear = [...model.namedModules()].filter(([, m]) => m instanceof Linear);
const W0 = new Map(linear.map(([n, l]) => [n, l.denseWeight().slice()]));
model.setTrainable(false);
for (const [, l] of linear) l.weight.trainable = true;
const params = new Map(linear.map(([n, l]) => [`${n}.weight`, l.weight]));
new Trainer(model, variablesTrainableSet(params), train, null, { steps: 40, lr: 1e-3, batchSize: 8, warmupSteps: 5, seed: 0, outDir: mkdtempSync(join(tmpdir(), 'loralab-spectra-')) }, config.padTokenId).run();
const matrices = linear.map(([name, l]) => {
  const w = l.denseWeight(), w0 = W0.get(name);
  const s = svdJacobi(Float64Array.from(w, (v, i) => v - w0[i]), l.outFeatures, l.inFeatures).S;
  return { name, out: l.outFeatures, in: l.inFeatures, singularValues: Array.from(s.slice(0, 32), (v) => Number(v.toPrecision(6))) };
});
writeFileSync(join(root, 'exercises/08-rank-budget/spectra.json'), `${JSON.stringify({ source: 'gemma-micro, linear layers fully fine-tuned 40 steps (batch 8, lr 1e-3, seed 0) on datasets/sql/train.jsonl; top 32 singular values of W − W0; scripts/make-rank-spectra.mjs', matrices })}\n`);
console.log(`wrote ${matrices.length} spectra`);
