// Pre-trains datasets/models/gemma-micro/: a Gemma (same architecture as Gemma-2B, 4M parameters) with a BPE tokenizer
// trained here, on --corpus (default datasets/corpus/copy/corpus.txt, the next base's; the committed gemma-micro was
// trained on datasets/corpus/corpus.txt with --steps 700 --seq 128 --batch 8 --warmup 50). Resumable: re-running continues from the last checkpoint (delete
// datasets/models/.gemma-micro-run/ to start over, and tokenizer.json to retrain the tokenizer on a new corpus).
// Every --snapshot-every steps it also writes a loadable model folder, .gemma-micro-run/step-N/, so that the copy probe
// (scripts/copy-probe.mjs) can follow the run.
// Run: npm run build && node scripts/pretrain-gemma-micro.mjs [--out DIR] [--corpus FILE] [--steps 1500] [--seq 256] [--batch 4]
//      [--lr 3e-3] [--warmup 100] [--schedule cosine|linear|constant] [--init MODEL_DIR] [--snapshot-every 250]
// --init starts from a model folder's weights and tokenizer (e.g. a snapshot of an earlier run) instead of random
// weights; the optimizer starts fresh. gemma-micro-copy (datasets/models/gemma-micro-copy/README.md) says its command.
// --synthetic-share S (default 0: the corpus alone) mixes synthetic repeated-span rows into the training rows, so that
// a fraction S of them are <bos> x_1..x_L x_1..x_L segments of random token ids (scripts/synthetic-copy.mjs; loss on
// the repeats only, L uniform in [--synthetic-min-len 4, --synthetic-max-len 32], --synthetic-repeats 1 repeat, ids
// from 4 to --synthetic-ids - 1 (default 4096, the whole vocabulary; fewer ids are each seen more often), or for a share
// --synthetic-corpus-share of the spans (default 0) drawn ∝ count^--synthetic-corpus-power (default 0.5) of each id in
// the training corpus, so that the tokens values are made of (digits, syllables) are practised, seed 7).
// --synthetic-recall-share R (default 0) makes a share R of the synthetic rows associative recall instead
// (synthetic-copy.mjs's recallRows, ids drawn ∝ count^power, seed 11): "k is v." pairs, then the keys again, loss
// on the values: finding a value by its key, as "The status of order 1379 is" must; --synthetic-recall-templated T
// (default 0) states and asks a share T of them in random templates of their own ("k F v T." … "P k Q" v), as
// "The X is sold in the V category." … "The category of the X is" do.
// --split-punctuation and --split-spaces (new runs only) train a tokenizer that never merges punctuation, or the
// word-start space, with a word: "Dublin." and " 'Dublin'" then hold the same token "Dublin" as " Dublin is", so copying
// a value into a query is copying a token (a merged "▁Dublin." is a different token the model would have to map).
// Rows where copying is the only way to lower the loss keep the induction heads that copying needs while the corpus
// teaches the language. The held-out loss stays the corpus's.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../lib/dist/backend/index.js';
import { trainBpeTokenizer, TextTokenizer, gemmaTokenizerConfig } from '../lib/dist/io/index.js';
import { createGemma, loadGemma, parseGemmaConfig, saveGemma } from '../lib/dist/models/gemma/index.js';
import { Trainer, prepareMethod, buildExample, packExamples, TEXT_TEMPLATE } from '../lib/dist/train/index.js';
import { GEMMA_MICRO_CONFIG, corpusIdWeights, recallRows, repeatedSpanRows, weightedIds } from './synthetic-copy.mjs';
import { argReader } from './cli-args.mjs';

const root = new URL('..', import.meta.url).pathname;
const arg = argReader();
const out = join(root, arg('--out', 'datasets/models/gemma-micro'));
const NAME = out.split('/').filter(Boolean).at(-1);
const work = join(out, '..', `.${NAME}-run`); // checkpoints (not committed)
const CORPUS = arg('--corpus', 'datasets/corpus/copy/corpus.txt');
const STEPS = arg('--steps', 1500);
const SEQ = arg('--seq', 256);
const BATCH = arg('--batch', 4);
const LR = arg('--lr', 3e-3);
const WARMUP = arg('--warmup', 100);
const SNAPSHOT_EVERY = arg('--snapshot-every', 250);
const SCHEDULES = ['cosine', 'linear', 'constant'];
const SCHEDULE = arg('--schedule', 'cosine');
if (!SCHEDULES.includes(SCHEDULE)) throw new Error(`--schedule: expected one of ${SCHEDULES.join(', ')}, got ${JSON.stringify(SCHEDULE)}`);
const INIT = arg('--init', '');
const SYNTHETIC_SHARE = Number(arg('--synthetic-share', '0'));
if (!(SYNTHETIC_SHARE >= 0 && SYNTHETIC_SHARE < 1)) throw new Error(`--synthetic-share: expected a fraction in [0, 1), got ${JSON.stringify(process.argv[process.argv.indexOf('--synthetic-share') + 1])}`);
const SYNTHETIC_MIN_LEN = arg('--synthetic-min-len', 4);
const SYNTHETIC_MAX_LEN = arg('--synthetic-max-len', 32);
const SYNTHETIC_REPEATS = arg('--synthetic-repeats', 1);
const SYNTHETIC_IDS = arg('--synthetic-ids', 4096);
const SYNTHETIC_CORPUS_SHARE = Number(arg('--synthetic-corpus-share', '0'));
if (!(SYNTHETIC_CORPUS_SHARE >= 0 && SYNTHETIC_CORPUS_SHARE <= 1)) throw new Error(`--synthetic-corpus-share: expected a fraction in [0, 1], got ${JSON.stringify(process.argv[process.argv.indexOf('--synthetic-corpus-share') + 1])}`);
const SYNTHETIC_CORPUS_POWER = Number(arg('--synthetic-corpus-power', '0.5'));
const SYNTHETIC_RECALL_SHARE = Number(arg('--synthetic-recall-share', '0'));
const SYNTHETIC_RECALL_TEMPLATED = Number(arg('--synthetic-recall-templated', '0'));
if (!(SYNTHETIC_RECALL_TEMPLATED >= 0 && SYNTHETIC_RECALL_TEMPLATED <= 1)) throw new Error(`--synthetic-recall-templated: expected a fraction in [0, 1], got ${JSON.stringify(process.argv[process.argv.indexOf('--synthetic-recall-templated') + 1])}`);
if (!(SYNTHETIC_RECALL_SHARE >= 0 && SYNTHETIC_RECALL_SHARE <= 1)) throw new Error(`--synthetic-recall-share: expected a fraction in [0, 1], got ${JSON.stringify(process.argv[process.argv.indexOf('--synthetic-recall-share') + 1])}`);
if (!(SYNTHETIC_CORPUS_POWER >= 0 && SYNTHETIC_CORPUS_POWER <= 1)) throw new Error(`--synthetic-corpus-power: expected a number in [0, 1], got ${JSON.stringify(process.argv[process.argv.indexOf('--synthetic-corpus-power') + 1])}`);
// how the tokenizer of a new run splits text (a run from --init keeps its tokenizer): see lib/src/io/bpe.ts
const SPLIT_PUNCTUATION = process.argv.includes('--split-punctuation');
const SPLIT_SPACES = process.argv.includes('--split-spaces');
const initDir = INIT && join(root, INIT);
if (initDir && (SPLIT_PUNCTUATION || SPLIT_SPACES)) throw new Error('--split-punctuation and --split-spaces shape a new tokenizer; a run from --init keeps the tokenizer of the model it starts from');
if (initDir) for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) {
  if (!existsSync(join(initDir, f))) throw new Error(`--init ${INIT}: no ${f} (expected a model folder written by this script)`);
}
/** Paragraphs the tokenizer is trained on (its BPE loop is quadratic-ish; the merges settle well before the end). */
const TOKENIZER_PARAGRAPHS = 12000;
mkdirSync(out, { recursive: true });
await initBackend();

const paragraphs = readFileSync(join(root, CORPUS), 'utf8').split('\n\n').filter(Boolean);
const tokPath = join(out, 'tokenizer.json');
if (!existsSync(tokPath) && initDir) {
  // the tokenizer is part of the weights it starts from
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(initDir, f), join(out, f));
} else if (!existsSync(tokPath)) {
  // the vocabulary also sees the task's training questions and SQL (text only, never paired)
  const sqlText = readFileSync(join(root, 'datasets/sql/train.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).flatMap((r) => [r.question, r.sql]);
  console.error(`training the tokenizer on ${TOKENIZER_PARAGRAPHS} paragraphs and the task's ${sqlText.length} training texts`);
  writeFileSync(tokPath, JSON.stringify(trainBpeTokenizer([...paragraphs.slice(0, TOKENIZER_PARAGRAPHS), ...sqlText], { vocabSize: 4096, splitPunctuation: SPLIT_PUNCTUATION, splitSpaces: SPLIT_SPACES })));
  writeFileSync(join(out, 'tokenizer_config.json'), `${JSON.stringify(gemmaTokenizerConfig(), null, 2)}\n`);
}
const tok = TextTokenizer.fromDir(out);

const configJson = GEMMA_MICRO_CONFIG;
const config = parseGemmaConfig(configJson);
let model;
if (initDir) {
  const initJson = JSON.parse(readFileSync(join(initDir, 'config.json'), 'utf8'));
  const differs = Object.keys(configJson).find((k) => JSON.stringify(initJson[k]) !== JSON.stringify(configJson[k]));
  if (differs) throw new Error(`--init ${INIT}/config.json: field '${differs}' is ${JSON.stringify(initJson[differs])}, expected gemma-micro's ${JSON.stringify(configJson[differs])}`);
  model = loadGemma(initDir).model;
} else model = createGemma(config, { seed: 1234 });
const { trainable } = prepareMethod(model, 'full');

const held = paragraphs.filter((_, i) => i % 50 === 0);
const trainParas = paragraphs.filter((_, i) => i % 50 !== 0);
const enc = (ps) => packExamples(ps.map((text) => buildExample(tok, TEXT_TEMPLATE, { text }, { maxLength: 4096, eosId: config.eosTokenId })), SEQ);
const corpusRows = enc(trainParas);
// n synthetic rows beside the corpus's c make a share n / (n + c) = S; of them a share R are associative-recall rows
const syntheticCount = SYNTHETIC_SHARE > 0 ? Math.round((SYNTHETIC_SHARE / (1 - SYNTHETIC_SHARE)) * corpusRows.length) : 0;
const recallCount = Math.round(SYNTHETIC_RECALL_SHARE * syntheticCount);
const idWeights = SYNTHETIC_CORPUS_SHARE > 0 || recallCount > 0 ? corpusIdWeights(corpusRows, config.vocabSize, SYNTHETIC_CORPUS_POWER) : undefined;
const spanRows = syntheticCount - recallCount > 0 ? repeatedSpanRows(syntheticCount - recallCount, SEQ, {
  vocabSize: config.vocabSize, idLimit: SYNTHETIC_IDS, minLen: SYNTHETIC_MIN_LEN, maxLen: SYNTHETIC_MAX_LEN, repeats: SYNTHETIC_REPEATS, bosId: config.bosTokenId, seed: 7,
  weightedShare: SYNTHETIC_CORPUS_SHARE, idWeights: SYNTHETIC_CORPUS_SHARE > 0 ? idWeights : undefined,
}).map(({ inputIds, labels }) => ({ inputIds, labels })) : [];
/** The tokens of a piece of text (without <bos>), for the recall rows' " is" and "." */
const tokensOf = (text) => tok.encode(text, { addSpecialTokens: false });
const recall = recallCount > 0 ? (() => {
  const sep = tokensOf(' is');
  const end = tokensOf('.');
  // keys and values never hold the separators' words, so that where a key or a value ends is never in doubt (the
  // space token of a tokenizer that keeps spaces apart stays: every word needs it)
  const space = SPLIT_SPACES ? tokensOf(' ')[0] : -1;
  const w = Float64Array.from(idWeights);
  for (const id of [...sep, ...end]) if (id !== space) w[id] = 0;
  return recallRows(recallCount, SEQ, {
    draw: weightedIds(w), keyLen: [1, 3], valueLen: [1, 3], minPairs: 2, maxPairs: 8, sep, end, bosId: config.bosTokenId, seed: 11,
    templated: SYNTHETIC_RECALL_TEMPLATED,
  });
})() : [];
const syntheticRows = [...spanRows, ...recall];
const train = [...corpusRows, ...syntheticRows];
const evalSet = enc(held).slice(0, 16);
console.error(`corpus: ${corpusRows.length} rows of ${SEQ} tokens (${corpusRows.length * SEQ} tokens) and ${syntheticRows.length} synthetic rows (${spanRows.length} repeated spans, ${recall.length} associative recall) for training, ${evalSet.length} held out; ${STEPS} steps of ${BATCH} rows = ${((STEPS * BATCH) / train.length).toFixed(2)} epochs`);

/** A loadable model folder (weights, config, tokenizer) for probing the run while it trains. */
const writeModel = (dir) => {
  saveGemma(model, dir, { dtype: 'float32' });
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(configJson, null, 2)}\n`);
  if (dir !== out) for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(out, f), join(dir, f));
};

const trainer = new Trainer(model, trainable, train, evalSet, {
  steps: STEPS, lr: LR, batchSize: BATCH, warmupSteps: WARMUP, schedule: SCHEDULE, weightDecay: 0.01, maxGradNorm: 1, seed: 1,
  evalEvery: 100, saveEvery: 50, keepCheckpoints: 1, outDir: work, resume: true,
}, config.padTokenId);
trainer.run({
  onResume: (s) => console.error(`resumed at step ${s}`),
  onStep: (m) => {
    if (m.step % 10 === 0) console.error(`step ${m.step}/${STEPS} loss ${m.loss.toFixed(4)} lr ${m.lr.toExponential(2)} ${m.tokensPerSecond.toFixed(0)} tok/s${m.evalLoss !== undefined ? ` eval ${m.evalLoss.toFixed(4)}` : ''}`);
    if (m.step % SNAPSHOT_EVERY === 0 && m.step < STEPS) writeModel(join(work, `step-${m.step}`));
  },
});
writeModel(out);
copyFileSync(join(work, 'metrics.jsonl'), join(out, 'training_log.jsonl'));
const last = trainer.records.at(-1);
const firstEval = trainer.records.find((r) => r.evalLoss !== undefined);
const params = [...trainer.trainable.params.values()].reduce((s, v) => s + v.size, 0);
writeFileSync(join(out, 'README.md'), `# ${NAME}

A model with Gemma's exact architecture (GemmaForCausalLM: RMSNorm with 1 + w, multi-query attention, RoPE, tanh-GELU
GeGLU MLP, tied head) at a size that pre-trains on a 2-core CPU: hidden 256, 4 layers, 4 query heads sharing 1
key/value head of 64, MLP 768, vocabulary 4096 — ${trainer.trainable.params.size} tensors, ${params.toLocaleString('en-US')} parameters.

- \`tokenizer.json\`: byte-fallback BPE trained by LoRA Lab on the corpus and the task's training text, numbers spelled
  digit by digit as in Gemma's tokenizer (Gemma-style ids: <pad> 0, <eos> 1, <bos> 2, <unk> 3)${initDir ? `; \`${INIT}\`'s, copied with its weights` : SPLIT_PUNCTUATION || SPLIT_SPACES ? `; ${[SPLIT_PUNCTUATION && 'punctuation', SPLIT_SPACES && 'spaces'].filter(Boolean).join(' and ')} never merged with a word (\`${[SPLIT_PUNCTUATION && '--split-punctuation', SPLIT_SPACES && '--split-spaces'].filter(Boolean).join(' ')}\`), so a word is the same token wherever it stands and copying it is copying a token` : ''}.
- Pre-trained by \`scripts/pretrain-gemma-micro.mjs\` on \`${CORPUS}\`: ${STEPS} steps of ${BATCH} × ${SEQ} tokens (${((STEPS * BATCH * SEQ) / 1e6).toFixed(2)} M tokens, ${((STEPS * BATCH) / train.length).toFixed(2)} epochs), AdamW
  (lr ${LR}, warmup ${WARMUP}, ${SCHEDULE}, weight decay 0.01), seed 1${syntheticRows.length ? `; ${(100 * SYNTHETIC_SHARE).toFixed(0)} % of the rows (${syntheticRows.length}) synthetic repeated spans of ${SYNTHETIC_MIN_LEN}–${SYNTHETIC_MAX_LEN} random token ids below ${SYNTHETIC_IDS}${recall.length ? ` (${recall.length} of them associative recall instead: 2–8 pairs "key is value." of 1–3 tokens each, then each key again, loss on its value${SYNTHETIC_RECALL_TEMPLATED > 0 ? `; ${(100 * SYNTHETIC_RECALL_TEMPLATED).toFixed(0)} % of them in random templates, \`--synthetic-recall-templated ${SYNTHETIC_RECALL_TEMPLATED}\`` : ''})` : ''}${SYNTHETIC_CORPUS_SHARE > 0 ? `, ${(100 * SYNTHETIC_CORPUS_SHARE).toFixed(0)} % of the spans drawn instead with probability ∝ (the id's count in the corpus)^${SYNTHETIC_CORPUS_POWER}` : ''} (\`--synthetic-share ${SYNTHETIC_SHARE}\`)` : ''}${initDir ? `, starting from the weights and tokenizer of \`${INIT}\`` : ''}. Held-out loss ${firstEval?.evalLoss?.toFixed(3)} at step ${firstEval?.step} ->
  ${last?.evalLoss?.toFixed(3)} at step ${last?.step}; ${last ? (last.elapsedSeconds / 60).toFixed(1) : '?'} minutes. Every step is in \`training_log.jsonl\`.
- Whether it copies a value from earlier in its context (ids, names, cities, months as 'YYYY-MM', quoted strings) is
  measured by the copy probe: \`datasets/copy-probe/score-${NAME}.json\` (\`node scripts/copy-probe.mjs\`).
- It knows the words, tables and SQL of the task but has never seen a "Question: ... SQL: ..." pair: fine-tuning
  teaches that.
`);
console.log(`saved ${out}`);
