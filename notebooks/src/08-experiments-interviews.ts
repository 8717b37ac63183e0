// %% [markdown]
// # 8 · Experiments and interview questions
//
// The experiments the brief asks for — ranks, LoRA vs QLoRA vs full fine-tuning — as charts from the committed
// benchmark runs, then interview questions answered with numbers computed in the earlier notebooks.
//
// All fine-tuning runs: `gemma-micro` on the text-to-SQL task, 500 steps of 8 examples, same seed and schedule,
// evaluated by executing the generated SQL in SQLite (`npm run bench -- finetune`; each run is also reproducible with
// `npx loralab train` and `npx loralab eval`, whose exact arguments are in `bench/finetune.mjs`).

// %%
import { readFileSync } from 'node:fs';
import { barChart, lineChart, show, showTable } from 'loralab/viz';
import { namedConfig, loraParameterCount } from 'loralab/peft';
import { predictMemory } from 'loralab/memory';
import { NF4_CODE } from 'loralab/quant';
const ft = JSON.parse(readFileSync('../bench/results/finetune.json', 'utf8'));
type Run = { name: string; method: string; r: number | null; executionAccuracy: number; exactMatch: number; skeletonMatch: number; invalidSql: number; testExamples: number; trainableParameters: number; peakRssBytes: number | null; trainSeconds: number; finalEvalLoss: number | null };
const runs: Run[] = ft.runs;
const by = Object.fromEntries(runs.map((r) => [r.name, r]));
console.log(ft.what);

// %% [markdown]
// ## The rank sweep
//
// LoRA on every linear layer with $\alpha = 2r$ (so the scale $\gamma = \alpha / r = 2$ is the same at every rank),
// for $r = 1, 2, 4, 8, 16, 64$:

// %%
const sweep = runs.filter((r) => r.method === 'lora' && r.r !== null).sort((a, b) => a.r! - b.r!);
showTable(['r', 'trainable parameters', 'same structure', 'execution accuracy', 'exact match', 'final validation loss', 'training time (min)'],
  sweep.map((r) => [r.r!, r.trainableParameters, `${(100 * r.skeletonMatch).toFixed(1)} %`, `${(100 * r.executionAccuracy).toFixed(1)} %`, `${(100 * r.exactMatch).toFixed(1)} %`, r.finalEvalLoss?.toFixed(4) ?? '–', (r.trainSeconds / 60).toFixed(1)]));
show(lineChart({ title: 'Rank sweep: test-set structure match vs trainable parameters', x: { title: 'trainable parameters', log: true }, y: { title: '% of test questions', range: [0, 100] },
  series: [
    { name: 'LoRA: same structure', x: sweep.map((r) => r.trainableParameters), y: sweep.map((r) => 100 * r.skeletonMatch), mode: 'lines+markers', text: sweep.map((r) => `r=${r.r}`) },
    { name: 'LoRA: execution accuracy', x: sweep.map((r) => r.trainableParameters), y: sweep.map((r) => 100 * r.executionAccuracy), mode: 'lines+markers', dash: 'dash' },
    ...(by.full ? [{ name: 'full fine-tuning: same structure', x: [by.full.trainableParameters], y: [100 * by.full.skeletonMatch], mode: 'markers' as const }] : []),
  ] }));

// %% [markdown]
// Read the structure curve: it climbs from r = 1 to r = 8, then falls, and r = 64 learns almost nothing (its
// validation loss is the worst of the sweep). The cause is the one notebook 4 measured: with $\alpha = 2r$ the scale
// $\gamma = 2$ is fixed, but the update $BAx$ grows like $\sqrt{r}$, so the same learning rate (5e-3) is too large for
// the big ranks and training goes unstable. A rank sweep is only meaningful with the learning rate tuned per rank, or
// with rsLoRA's $\alpha/\sqrt{r}$ — the interview answer to "why not always use the biggest rank?".
//
// ## LoRA vs QLoRA vs full fine-tuning
//
// The QLoRA paper's claim is that a 4-bit NF4 base with double quantization loses nothing against a 16-bit base —
// its target is to stay within about 2 points. Here the base is `gemma-micro`; QLoRA quantizes all its linear layers
// before training and evaluates on the same 4-bit base.

// %%
const trio = ['base', 'lora-r8', 'qlora-r8', 'full'].filter((n) => by[n]);
showTable(['run', 'trainable parameters', 'same structure', 'execution accuracy', 'exact match', 'invalid SQL', 'peak memory (MB)', 'training time (min)'],
  trio.map((n) => { const r = by[n]; return [n, r.trainableParameters, `${(100 * r.skeletonMatch).toFixed(1)} %`, `${(100 * r.executionAccuracy).toFixed(1)} %`, `${(100 * r.exactMatch).toFixed(1)} %`, `${r.invalidSql}/${r.testExamples}`, r.peakRssBytes ? (r.peakRssBytes / 1e6).toFixed(0) : '–', (r.trainSeconds / 60).toFixed(1)]; }));
show(barChart({ title: 'Pre-trained, LoRA, QLoRA, full fine-tuning on the SQL test set', x: 'run', y: { title: '% of test questions', range: [0, 100] }, categories: trio,
  series: [{ name: 'same structure as gold', values: trio.map((n) => 100 * by[n].skeletonMatch) }, { name: 'execution accuracy', values: trio.map((n) => 100 * by[n].executionAccuracy) }] }));
if (by['lora-r8'] && by['qlora-r8']) {
  const pts = (k: 'skeletonMatch' | 'executionAccuracy') => (100 * (by['qlora-r8'][k] - by['lora-r8'][k])).toFixed(1);
  console.log(`QLoRA − LoRA: ${pts('skeletonMatch')} points of structure match, ${pts('executionAccuracy')} points of execution accuracy (the paper's target: within 2)`);
}

// %% [markdown]
// ## Why execution accuracy stays low here
//
// Every fine-tuned model writes the right *kind* of query far more often than it returns the right *result*. The
// per-example reports show why: the structure is right and the literals are wrong — `account_id = 100` where the
// question said account 83, `'Madrid'` for Berlin. Copying a value from the prompt needs attention heads that look up
// an earlier token and move it forward ("induction heads"); `gemma-micro` (4 layers, pre-trained 30 minutes on text
// that rarely repeats a value) never formed them, and 500 fine-tuning steps do not build them either. A real
// pre-trained model has them from pre-training, which is why fine-tuning Gemma-2B on this task needs far fewer steps to
// get values right. The comparison between methods still holds on the structure metric, and the same runs at
// Gemma-2B scale are what `GEMMA_2B_DIR` and a GPU are for (notebook 7).

// %%
const rep = JSON.parse(readFileSync('../bench/results/finetune-runs/full/eval-report.json', 'utf8'));
showTable(['question', 'full fine-tuning wrote', 'gold'], rep.examples.slice(0, 4).map((e: { question: string; predicted: string; gold: string }) => [e.question, `\`${e.predicted}\``, `\`${e.gold}\``]));

// %% [markdown]
// At this scale the process's fixed memory (the runtime, the data) dominates the peak, so the memory column says
// little; notebook 2 and `loralab memory` give the picture at Gemma-2B and 7B scale, where the weights dominate.
//
// ## Interview questions, answered with numbers
//
// Each answer below is computed, not recalled. The drills (`npm run drill`, and the quiz on the site) ask these and
// more, with the worked computation for every numeric answer.

// %%
const l7 = namedConfig('llama-7b')!;
const q65 = predictMemory(namedConfig('llama-65b')!, { method: 'qlora', r: 64, targetModules: 'all-linear' }).bytes.total / 1e9;
const f65 = predictMemory(namedConfig('llama-65b')!, { method: 'full' }).bytes.total / 1e9;
const answers: [string, string][] = [
  ['How many parameters does LoRA r=8 on W_q and W_v add to LLaMA-7B?', `${loraParameterCount(l7, { r: 8, loraAlpha: 16, targetModules: ['q_proj', 'v_proj'] }).toLocaleString('en-US')} (32 layers × 2 matrices × 8 × (4096 + 4096))`],
  ['Memory to fully fine-tune LLaMA-65B in 16-bit with AdamW vs QLoRA?', `${f65.toFixed(0)} GB vs ${q65.toFixed(1)} GB (paper: >780 GB vs <48 GB)`],
  ['Bits per parameter of NF4 with and without double quantization (blocksize 64)?', `${(4 + 32 / 64).toFixed(3)} vs ${(4 + 8 / 64 + 32 / (64 * 256)).toFixed(3)}`],
  ['Why does NF4 have 8 positive and 7 negative levels?', `so that 0 is exactly representable: the levels are ${Array.from(NF4_CODE.slice(6, 9), (v) => v.toFixed(3)).join(', ')} around zero`],
  ['Best rank for this task, at lr 5e-3 and α = 2r?', sweep.length ? (() => { const b = [...sweep].sort((x, y) => y.skeletonMatch - x.skeletonMatch)[0]; return `r=${b.r}: ${(100 * b.skeletonMatch).toFixed(1)} % of queries with the right structure; larger ranks did worse at the same learning rate`; })() : 'see the sweep'],
];
showTable(['question', 'answer'], answers);

// %% [markdown]
// ## Exercises
//
// - [`exercises/08-rank-budget`](../exercises/08-rank-budget/README.md): pick ranks per layer under a parameter budget
//   and beat a baseline on the SQL task.
// - [`exercises/08-4bit-linear-grad`](../exercises/08-4bit-linear-grad/README.md): write the custom gradient of a
//   4-bit linear layer.
// - The interview drills: [`exercises/drills`](../exercises/drills/README.md), `npm run drill`.
