// %% [markdown]
// # 5 · Adapters, prefix tuning and LoRA, side by side
//
// Three ways to fine-tune a few parameters of a frozen model:
//
// | method | where it acts | what it adds per layer |
// | --- | --- | --- |
// | **Bottleneck adapters** (Houlsby et al., 2019) | after attention and after the MLP: $h \leftarrow h + W_{up}\,\sigma(W_{down} h)$ | $2(2dm + d + m)$ for bottleneck $m$ |
// | **Prefix tuning** (Li & Liang, 2021) | $P$ trainable key/value vectors prepended in every attention layer | $2 P d_{kv}$ |
// | **LoRA** (Hu et al., 2021) | inside each targeted matrix: $W_0 x + \gamma BAx$ | $r(d_{in} + d_{out})$ per matrix |
//
// The differences that matter in practice: how many parameters, how well they learn the task, and what they cost at
// inference — adapters add sequential layers, prefixes lengthen every attention, and LoRA can be merged away.

// %%
import { methodTableByModules, methodTable, namedConfig } from 'loralab/peft';
import { readGemmaConfig } from 'loralab/models/gemma';
import { barChart, lineChart, show, showTable } from 'loralab/viz';
import { readFileSync } from 'node:fs';
const micro = readGemmaConfig('../datasets/models/gemma-micro');

// %% [markdown]
// ## Parameters
//
// Counted by building each method's module tree on `gemma-micro` (r = bottleneck = prefix length = 8, LoRA on every
// linear layer, as in the experiments below), and by formula for Gemma-2B:

// %%
const rowsMicro = methodTableByModules(micro, { r: 8, targetModules: 'all-linear' });
const rows2b = methodTable(namedConfig('gemma-2b')!, { r: 8, targetModules: 'all-linear' });
showTable(['method', 'detail', 'gemma-micro trainable', '% of gemma-micro', 'Gemma-2B trainable', '% of Gemma-2B'],
  rowsMicro.map((r, i) => [r.method, r.detail, r.trainable, `${r.percent.toFixed(3)} %`, rows2b[i].trainable, `${rows2b[i].percent.toFixed(4)} %`]));

// %% [markdown]
// ## Training curves and accuracy on the SQL task
//
// Each method fine-tuned `gemma-micro` on the 5,161 training pairs with the same budget: 500 steps of 8 examples,
// warmup and cosine decay, the same seed; then greedy decoding on the test questions, executed in SQLite. These runs
// take minutes each, so they ran once in the benchmark (`npm run bench -- finetune`) and this notebook loads the
// committed results.

// %%
const ft = JSON.parse(readFileSync('../bench/results/finetune.json', 'utf8'));
const byName = Object.fromEntries(ft.runs.map((r: { name: string }) => [r.name, r]));
const shown = ['full', 'lora-r8', 'adapter-r8', 'prefix-r8'].filter((n) => byName[n]);
type Point = { step: number; loss: number; evalLoss?: number };
show(lineChart({ title: 'Training loss (SQL tokens), same data and budget', x: 'step', y: 'training loss',
  series: shown.map((n) => ({ name: n, x: byName[n].curve.map((p: Point) => p.step), y: byName[n].curve.map((p: Point) => p.loss) })) }));
show(lineChart({ title: 'Validation loss during training', x: 'step', y: 'validation loss', series: shown.map((n) => {
  const pts = byName[n].curve.filter((p: Point) => p.evalLoss !== undefined);
  return { name: n, x: pts.map((p: Point) => p.step), y: pts.map((p: Point) => p.evalLoss!), mode: 'lines+markers' as const };
}) }));

// %% [markdown]
// Loss is not the goal; correct SQL is. On the 391 test questions: **execution accuracy** (the predicted query returns
// the gold query's result set), **exact match**, and **same structure** — the query equals the gold one once string and
// number literals are replaced by `?` (`sqlSkeleton`). The last one separates learning the task's SQL from copying the
// right values (an account id, a city, a month) out of the question, which is where a 4-million-parameter model
// pre-trained for half an hour fails (notebook 8 looks at why).

// %%
const acc = ['base', ...shown].filter((n) => byName[n]);
showTable(['run', 'trainable parameters', 'same structure', 'execution accuracy', 'exact match', 'invalid SQL', 'training time (min)'],
  acc.map((n) => { const r = byName[n]; return [n, r.trainableParameters, `${(100 * r.skeletonMatch).toFixed(1)} %`, `${(100 * r.executionAccuracy).toFixed(1)} %`, `${(100 * r.exactMatch).toFixed(1)} %`, `${r.invalidSql}/${r.testExamples}`, (r.trainSeconds / 60).toFixed(1)]; }));
show(barChart({ title: 'Text-to-SQL test set: structure and execution accuracy', x: 'method', y: { title: '% of test questions', range: [0, 100] }, categories: acc,
  series: [{ name: 'same structure as gold', values: acc.map((n) => 100 * byName[n].skeletonMatch) }, { name: 'execution accuracy', values: acc.map((n) => 100 * byName[n].executionAccuracy) }] }));

// %% [markdown]
// With the same budget the methods are far apart. Full fine-tuning writes the right structure for most questions;
// LoRA on every linear layer gets most of the way with 4 % of the parameters; the bottleneck adapters learn slowly
// at this learning rate; prefix tuning — 4,096 parameters steering a model from the side — does not get off the
// ground in 500 steps (its validation loss barely moves). Prefix tuning is known to be hard to optimise on small
// models; it needs longer training, a higher learning rate, or the reparametrisation MLP of the original paper.
//
// ## Inference latency, before and after merging
//
// At inference each method costs something different: an adapter adds two small matrix multiplies and a nonlinearity
// per block *in sequence* (they cannot run in parallel with the layer), a prefix adds $P$ keys and values to every
// attention, and an unmerged LoRA adds $BAx$ beside each matrix — which merging removes entirely. Measured in one run
// on a Gemma-shaped model (hidden 512, r = bottleneck = prefix = 64, 128 tokens; `npm run bench -- methods`):

// %%
const m = JSON.parse(readFileSync('../bench/results/methods.json', 'utf8'));
const names = ['base', 'loraUnmerged', 'loraMerged', 'adapters', 'prefix'];
showTable(['model', 'seconds per forward', 'ratio to base', 'extra FLOPs per token'], names.map((n) => [n, m.seconds[n].toFixed(4), n === 'base' ? '1' : m.ratiosToBase[n].toFixed(3), n === 'base' ? 0 : m.extraFlopsPerToken[n]]));
show(barChart({ title: `Forward latency relative to the base model (${m.backend}, ${m.machine.cpu})`, x: 'model', y: 'latency / base latency', categories: names.slice(1), series: [{ name: 'ratio', values: names.slice(1).map((n) => m.ratiosToBase[n]) }] }));

// %% [markdown]
// A merged LoRA runs at the base model's speed (within the noise of the measurement): the adapter has become part of
// $W$. Adapters and prefixes keep their overhead for as long as they are used; the prefix's grows with $P$ and with
// sequence length, and it also uses up $P$ positions of the context.
//
// ## Exercises
//
// - [`exercises/05-adapter-params`](../exercises/05-adapter-params/README.md): parameter counts of adapters, prefixes
//   and LoRA for a given model.
// - [`exercises/05-prefix-attention`](../exercises/05-prefix-attention/README.md): attention with a trainable prefix.
// - Drills for this section: `npm run drill -- --section 5`.
