// %% [markdown]
// # 1 · Why fine-tune?
//
// A pre-trained language model has read a lot of text: it knows the words, the grammar, even the vocabulary of a
// domain. What it lacks is the *behaviour* a task asks for — answering a question about a retail database with one
// valid SQL query, in the house style, every time. Fine-tuning teaches that behaviour from examples.
//
// This notebook shows the gap on LoRA Lab's own pre-trained model, `gemma-micro` (Gemma's architecture, 4 million
// parameters, pre-trained on this repository's corpus of retail and finance text and SQL), and then prices the
// obvious fix — fine-tuning every weight — at 7B, 70B and 175B parameters.

// %%
import { loadGemma } from 'loralab/models/gemma';
import { generate, readJsonl, SQL_TEMPLATE } from 'loralab/train';
import { SqlDatabase, gradeSql } from 'loralab/sql';
import { namedConfig, totalParameters } from 'loralab/peft';
import { predictMemory } from 'loralab/memory';
import { initBackend } from 'loralab/backend';
import { barChart, show, showTable } from 'loralab/viz';
const backend = await initBackend();
const { model, tokenizer } = loadGemma('../datasets/models/gemma-micro');
const tok = tokenizer!;
const complete = (prompt: string, maxNewTokens = 40) => tok.decode(generate(model, tok.encode(prompt), { maxNewTokens }), { skipSpecialTokens: true });

// %% [markdown]
// ## What the pre-trained model knows
//
// Give it the start of a sentence from its domain and it continues fluently (greedy decoding):

// %%
for (const p of ['The finance team reviewed the monthly', 'Customers in Berlin placed', 'The orders table stores'])
  console.log(`${p} ⟶ ${complete(p, 24).replace(/\n/g, ' ')}`);

// %% [markdown]
// ## What it cannot do yet
//
// Now the task: a question about the database, in the prompt format used for fine-tuning (`Question: … SQL:`). The
// model has seen questions and SQL separately, never paired. Its answers are run in SQLite and compared with the
// gold query's result.

// %%
const test = readJsonl('../datasets/sql/test.jsonl', ['question', 'sql']).slice(0, 12);
const predictions = test.map((r) => ({ question: r.question, gold: r.sql, predicted: complete(SQL_TEMPLATE.prompt(r), 48).trim() }));
for (const p of predictions.slice(0, 4)) console.log(`Q: ${p.question}\n   model: ${p.predicted.replace(/\n/g, ' ⏎ ')}\n   gold:  ${p.gold}\n`);
const db = await SqlDatabase.open('../datasets/sql');
const report = await gradeSql(db, predictions);
db.close();
console.log(`execution accuracy on these ${report.n} questions: ${(100 * report.executionAccuracy).toFixed(0)} %, invalid SQL: ${report.invalid}`);

// %% [markdown]
// The model has seen SQL during pre-training, so it writes SQL-looking text — but the same few statements whatever
// the question: it has no idea that the query should depend on the question, which table it is about, or which
// literal values (an account id, a month) to copy from it. Notebooks 5, 7 and 8 fine-tune this model on 5,161 question–SQL pairs and
// measure execution accuracy on the 391-question test set before and after.
//
// ## What full fine-tuning costs
//
// Full fine-tuning updates every parameter with AdamW. Two accountings of the bytes per parameter are in use, and
// `npx loralab memory --method full` prints both (`--precision mixed|bf16`):
//
// - **mixed precision**, the standard recipe: a bf16 weight (2 bytes) and its bf16 gradient (2) for the forward and
//   backward passes, a float32 **master copy** of the weight (4) that the optimizer updates and the bf16 weight is cast
//   from, and AdamW's two float32 moments (8) — **16 bytes**.¹
// - **pure bf16**, no master copy: 2 + 2 + 8 = **12 bytes**. This is the accounting behind the QLoRA paper's
//   "more than 780 GB" for a 65B model.²
//
// Both before activations. The library's memory model for a sequence of 512 tokens, batch 1:
//
// ¹ Rajbhandari et al. 2020, *ZeRO*, §3.1: mixed-precision Adam holds 2Ψ + 2Ψ + KΨ bytes with K = 12 (float32
// parameters, momentum and variance); Hugging Face's "Anatomy of a model's memory" (Transformers docs, *Efficient
// training on a single GPU*) counts 18 by keeping the gradient in float32. ² Dettmers et al. 2023, §1; the last line
// below recomputes it.

// %%
const names = ['llama-7b', 'llama-70b', 'gpt3-175b'];
const gb = (b: number) => b / 1e9;
const rows = names.map((n) => ({ n, p: totalParameters(namedConfig(n)!), m: predictMemory(namedConfig(n)!, { method: 'full', seqLen: 512, batchSize: 1 }).bytes, bf16: predictMemory(namedConfig(n)!, { method: 'full', seqLen: 512, batchSize: 1, precision: 'bf16' }).bytes }));
show(barChart({ title: 'Memory for full fine-tuning in mixed precision (bf16 weights and gradients, float32 master weights, AdamW states, seq 512)', x: 'model', y: 'GB', categories: names, stacked: true,
  series: [
    { name: 'bf16 weights', values: rows.map((r) => gb(r.m.weights)) },
    { name: 'float32 master weights', values: rows.map((r) => gb(r.m.masterWeights)) },
    { name: 'bf16 gradients', values: rows.map((r) => gb(r.m.gradients)) },
    { name: 'AdamW states', values: rows.map((r) => gb(r.m.optimizerStates)) },
    { name: 'activations', values: rows.map((r) => gb(r.m.activations)) },
  ] }));
const noAct = (b: typeof rows[number]['m']) => gb(b.total - b.activations);
showTable(['model', 'parameters', 'mixed precision, 16 B/param (GB)', 'pure bf16, 12 B/param (GB)', 'with activations, mixed (GB)', '80 GB GPUs just to hold it (mixed)'],
  rows.map((r) => [r.n, r.p, noAct(r.m).toFixed(1), noAct(r.bf16).toFixed(1), gb(r.m.total).toFixed(0), Math.ceil(gb(r.m.total) / 80)]));
const l65 = namedConfig('llama-65b')!;
console.log(`LLaMA-65B (${(totalParameters(l65) / 1e9).toFixed(2)}B parameters), before activations: pure bf16 ${noAct(predictMemory(l65, { method: 'full', precision: 'bf16' }).bytes).toFixed(0)} GB (the QLoRA paper's "more than 780 GB"), mixed precision ${noAct(predictMemory(l65, { method: 'full' }).bytes).toFixed(0)} GB`);

// %% [markdown]
// And compute: a training step costs about $6N$ floating-point operations per token for $N$ parameters (2 for the
// forward pass, 4 for the backward). One pass over 100 million tokens of task data:

// %%
const tokens = 1e8, gpuFlops = 400e12; // an H100's dense bf16 rate at a realistic 40 % utilisation
showTable(['model', 'training FLOPs (6·N·D)', 'GPU-hours at 400 TFLOP/s'], rows.map((r) => [r.n, (6 * r.p * tokens).toExponential(2), ((6 * r.p * tokens) / gpuFlops / 3600).toFixed(1)]));

// %% [markdown]
// Compute grows linearly and is the smaller problem; memory is the wall. A 7B model needs more than one 80 GB GPU to
// fine-tune in full, 70B needs a cluster, and every fine-tuned copy is another full-size checkpoint. The next
// notebooks take that wall apart: where the bytes go (2), and how LoRA (3–5) and QLoRA (6) remove most of them.
//
// ## Exercises
//
// - [`exercises/01-full-finetune-memory`](../exercises/01-full-finetune-memory/README.md): compute the memory of full
//   fine-tuning for any model and precision.
// - [`exercises/01-training-flops`](../exercises/01-training-flops/README.md): estimate training FLOPs and time.
// - Drills for this section: `npm run drill -- --section 1`.
