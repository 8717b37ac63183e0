// %% [markdown]
// # 3 · LoRA: freeze $W_0$, learn $\Delta W = BA$
//
// Full fine-tuning learns a new value for every weight: $W = W_0 + \Delta W$ with $\Delta W$ as large as $W_0$.
// LoRA (Hu et al., 2021) bets that the update a task needs has low *intrinsic rank*, and learns it directly in
// factored form, $\Delta W = BA$ with $r$ columns in $B$ and $r$ rows in $A$, while $W_0$ stays frozen.
//
// This notebook tests the bet on a real fine-tuning run: it fine-tunes every linear layer of `gemma-micro` on the
// text-to-SQL task, takes the update $\Delta W$ that training wrote into each matrix, and asks how much of it — and
// how much of the improvement in loss — a rank-$r$ update keeps. Then it counts what LoRA trains at real model sizes.

// %%
import { loadGemma } from 'loralab/models/gemma';
import { Trainer, variablesTrainableSet, readJsonl, buildExample, SQL_TEMPLATE } from 'loralab/train';
import { getPeftModel, namedConfig, totalParameters, loraParameterCount } from 'loralab/peft';
import { Linear } from 'loralab/layers';
import { svdJacobi, truncate, reconstruct } from 'loralab/linalg';
import { initBackend } from 'loralab/backend';
import { lineChart, barChart, show, showTable } from 'loralab/viz';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const backend = await initBackend();

// %% [markdown]
// ## A real fine-tuning delta
//
// Load the pre-trained model and the task (question → SQL; the loss is taken on the SQL only). Every linear layer
// (`q/k/v/o_proj`, `gate/up/down_proj` in 4 layers: 28 matrices) is trainable; embeddings and norms are frozen, so the
// whole update lives in matrices we can decompose.

// %%
const { model, tokenizer, config } = loadGemma('../datasets/models/gemma-micro');
const tok = tokenizer!;
const examples = (file: string, n: number) => readJsonl(`../datasets/sql/${file}`, ['question', 'sql']).slice(0, n)
  .map((r) => buildExample(tok, SQL_TEMPLATE, r, { maxLength: 160, eosId: config.eosTokenId }));
const train = examples('train.jsonl', 2000), valid = examples('valid.jsonl', 96);
const linear = new Map([...model.namedModules()].filter(([, m]) => m instanceof Linear).map(([n, m]) => [n, m as Linear]));
const W0 = new Map([...linear].map(([n, l]) => [n, l.denseWeight().slice()]));
model.setTrainable(false);
for (const l of linear.values()) l.weight.trainable = true;
const params = new Map([...linear].map(([n, l]) => [`${n}.weight`, l.weight]));
const trainer = new Trainer(model, variablesTrainableSet(params), train, valid, { steps: 40, lr: 1e-3, batchSize: 8, warmupSteps: 5, schedule: 'constant', seed: 0, outDir: mkdtempSync(join(tmpdir(), 'loralab-nb03-')) }, config.padTokenId);
const baseLoss = trainer.evaluate();
const log = trainer.run({ onStep: (m) => { if (m.step % 10 === 0) console.error(`step ${m.step}/40 loss ${m.loss.toFixed(3)} (${m.tokensPerSecond.toFixed(0)} tokens/s)`); } });
const fullLoss = trainer.evaluate();
console.log(`validation loss: pre-trained ${baseLoss.toFixed(4)} → fully fine-tuned (40 steps) ${fullLoss.toFixed(4)}`);
show(lineChart({ title: 'Full fine-tuning of the linear layers on text-to-SQL', x: 'step', y: 'training loss (SQL tokens)', series: [{ name: 'loss', x: log.map((m) => m.step), y: log.map((m) => m.loss) }] }));

// %% [markdown]
// ## How low-rank is the update?
//
// For each matrix, $\Delta W = W_{\text{fine-tuned}} - W_0$. Its singular values say how much of it a rank-$r$ factor
// could hold (Eckart–Young, notebook 4). The chart shows the relative error of the best rank-$r$ approximation for one
// matrix of each kind in layer 1:

// %%
const deltas = new Map([...linear].map(([n, l]) => { const w = l.denseWeight(); const w0 = W0.get(n)!; return [n, Float64Array.from(w, (v, i) => v - w0[i])]; }));
const svds = new Map([...deltas].map(([n, d]) => { const l = linear.get(n)!; return [n, svdJacobi(d, l.outFeatures, l.inFeatures)]; }));
const fro = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((s, v) => s + v * v, 0));
const ranks = [1, 2, 4, 8, 16, 32, 64];
const tailErr = (n: string, r: number) => { const S = svds.get(n)!.S; const all = S.reduce((a, v) => a + v * v, 0); return Math.sqrt(S.slice(r).reduce((a, v) => a + v * v, 0) / all); };
const kinds = ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj', 'mlp.gate_proj', 'mlp.up_proj', 'mlp.down_proj'];
show(lineChart({ title: 'Share of the fine-tuning update a rank-r matrix cannot hold (layer 1)', x: { title: 'rank r', log: true }, y: { title: '‖ΔW − ΔW_r‖_F / ‖ΔW‖_F', range: [0, 1] },
  series: kinds.map((k) => ({ name: k.split('.')[1], x: ranks, y: ranks.map((r) => tailErr(`model.layers.1.${k}`, r)), mode: 'lines+markers' as const })) }));

// %% [markdown]
// ## Does a rank-r update recover the fine-tuning?
//
// The decisive test is the loss, not the matrix norm. Set every matrix to $W_0 + (\Delta W)_r$, its best rank-$r$
// update, and measure the validation loss again. Full fine-tuning is the target; rank 0 is the pre-trained model.

// %%
const lossAt = ranks.map((r) => {
  for (const [n, l] of linear) {
    const s = svds.get(n)!;
    const dr = reconstruct(truncate(s, Math.min(r, s.k)));
    const w0 = W0.get(n)!;
    l.setWeight(Float32Array.from(w0, (v, i) => v + dr[i]));
  }
  return trainer.evaluate();
});
const factorParams = ranks.map((r) => [...linear.values()].reduce((a, l) => a + r * (l.inFeatures + l.outFeatures), 0));
const fullParams = [...linear.values()].reduce((a, l) => a + l.inFeatures * l.outFeatures, 0);
showTable(['rank r', 'parameters of BA (all 28 matrices)', 'validation loss', 'share of the improvement kept'],
  [[0, 0, baseLoss.toFixed(4), '0 %'], ...ranks.map((r, i) => [r, factorParams[i], lossAt[i].toFixed(4), `${((100 * (baseLoss - lossAt[i])) / (baseLoss - fullLoss)).toFixed(1)} %`]), ['full', fullParams, fullLoss.toFixed(4), '100 %']]);
show(lineChart({ title: 'Validation loss with the fine-tuning update truncated to rank r', x: { title: 'rank r', log: true }, y: 'validation loss',
  series: [{ name: 'W₀ + (ΔW)_r', x: ranks, y: lossAt, mode: 'lines+markers' }, { name: 'full fine-tuning', x: ranks, y: ranks.map(() => fullLoss), dash: 'dash' }, { name: 'pre-trained', x: ranks, y: ranks.map(() => baseLoss), dash: 'dot' }] }));

// %% [markdown]
// Read off the rank at which the curve meets the dashed line: past it, the extra directions of $\Delta W$ carry
// almost nothing the task needs. That is the intrinsic-rank observation, measured. Set the two measurements side by
// side at $r = 8$, the most instructive result of this notebook:

// %%
const i8 = ranks.indexOf(8);
const err8 = [...linear.keys()].map((n) => tailErr(n, 8));
console.log(`at r = 8 the relative Frobenius error of the update, ‖ΔW − ΔW_8‖_F / ‖ΔW‖_F, is ${Math.min(...err8).toFixed(2)}–${Math.max(...err8).toFixed(2)} over the 28 matrices,`);
console.log(`yet the rank-8 update keeps ${((100 * (baseLoss - lossAt[i8])) / (baseLoss - fullLoss)).toFixed(1)} % of the loss improvement of full fine-tuning`);

// %% [markdown]
// A large part of the update's *norm* is left out in many matrices, yet nearly all of the *loss* comes back: the loss
// is sensitive to a few directions of $\Delta W$ and nearly blind to the rest, which is the bet LoRA makes. LoRA goes one step further: it
// never forms $\Delta W$ at all, it *trains* $B$ and $A$ directly (notebooks 5 and 7), so it needs no more memory
// than the factors.
//
// ## What LoRA saves per step, and where it falls short
//
// Training only $B$ and $A$ removes the weight gradients of the frozen matrices ($\partial L / \partial W_0$, one
// matrix product per layer in the backward pass) and their AdamW update; the input gradients still flow through every
// layer. Timed here on the same model, data and batch (a few steps each, so the numbers vary from run to run), and the
// price, from the committed 500-step runs (`npm run bench -- finetune`): the share of test questions answered with the
// right query structure.

// %% nondeterministic
const timeSteps = (peftRun: boolean) => {
  const { model: m } = loadGemma('../datasets/models/gemma-micro');
  const lin = [...m.namedModules()].filter(([, x]) => x instanceof Linear) as [string, Linear][];
  if (!peftRun) { m.setTrainable(false); for (const [, l] of lin) l.weight.trainable = true; }
  const vars = peftRun
    ? new Map(getPeftModel(m, { r: 8, loraAlpha: 16, targetModules: 'all-linear' }).trainableVariables().map((v) => [v.name, v]))
    : new Map(lin.map(([n, l]) => [`${n}.weight`, l.weight]));
  const t = new Trainer(m, variablesTrainableSet(vars), train.slice(0, 40), [], { steps: 5, lr: 1e-3, batchSize: 8, warmupSteps: 1, schedule: 'constant', seed: 0, outDir: mkdtempSync(join(tmpdir(), 'loralab-nb03-t-')) }, config.padTokenId);
  const rec = t.run();
  return (rec.at(-1)!.elapsedSeconds - rec[1].elapsedSeconds) / (rec.length - 2); // skip the first step (warm-up of the kernels)
};
const tFull = timeSteps(false), tLora = timeSteps(true);
const ft = JSON.parse(readFileSync('../bench/results/finetune.json', 'utf8'));
const run = (n: string) => ft.runs.find((r: { name: string }) => r.name === n);
showTable(['', 'full fine-tuning of the linear layers', 'LoRA r=8, all linear layers'], [
  ['seconds per step, batch 8, measured here', tFull.toFixed(3), tLora.toFixed(3)],
  ['trainable parameters (500-step runs)', run('full').trainableParameters, run('lora-r8').trainableParameters],
  ['same structure as gold, 391 test questions (500 steps)', `${(100 * run('full').skeletonMatch).toFixed(1)} %`, `${(100 * run('lora-r8').skeletonMatch).toFixed(1)} %`],
]);
console.log(`here a LoRA step takes ${(tLora / tFull).toFixed(2)}× the time of a full step`);

// %% [markdown]
// On a model this small LoRA saves little or nothing per step, and can be slower: the weight gradients it skips are
// small matrices (256 wide), while it adds $xA$ and $(xA)B$ to every adapted layer, forward and backward, as separate
// small operations. The saving grows with the width of the matrices: a 4096 × 4096 weight gradient costs 16.8M
// multiply-adds per token, its rank-8 factors' 65K. At scale a step costs about $4N$ FLOPs per token instead of $6N$
// (the input gradients remain, the weight gradients go); the LoRA paper measured a 25 % training speed-up on GPT-3
// 175B (Hu et al. 2021, §4.2). LoRA's decisive saving is memory (notebook 2). And at the same 500 steps LoRA writes the right structure less often than full
// fine-tuning: on this task and model a rank-8 update does not hold everything the full update learned. The gap is
// the price of the constraint; higher ranks, more steps or a tuned learning rate narrow it (notebook 8).
//
// ## From billions to millions
//
// The same arithmetic at real sizes: the number of trainable parameters for full fine-tuning against LoRA with
// $r = 8$ on the attention query and value projections (the LoRA paper's setting) and on every linear layer.

// %%
const models = ['gemma-2b', 'llama-7b', 'llama-70b', 'gpt3-175b'];
const rowsM = models.map((m) => {
  const c = namedConfig(m)!;
  return { m, full: totalParameters(c), qv: loraParameterCount(c, { r: 8, loraAlpha: 16, targetModules: ['q_proj', 'v_proj'] }), all: loraParameterCount(c, { r: 8, loraAlpha: 16, targetModules: 'all-linear' }) };
});
showTable(['model', 'full fine-tuning', 'LoRA r=8 on q,v', 'LoRA r=8, all linear', 'reduction (r=8 on q,v)', 'reduction (r=4 on q,v)'], rowsM.map((r) => [r.m, r.full, r.qv, r.all, `${Math.round(r.full / r.qv).toLocaleString('en-US')}×`, `${Math.round((2 * r.full) / r.qv).toLocaleString('en-US')}×`]));
show(barChart({ title: 'Trainable parameters: full fine-tuning vs LoRA (r = 8)', x: 'model', y: { title: 'trainable parameters', log: true }, categories: models,
  series: [{ name: 'full', values: rowsM.map((r) => r.full) }, { name: 'LoRA q,v', values: rowsM.map((r) => r.qv) }, { name: 'LoRA all linear', values: rowsM.map((r) => r.all) }] }));
const peft = getPeftModel(loadGemma('../datasets/models/gemma-micro').model, { r: 8, loraAlpha: 16, targetModules: ['q_proj', 'v_proj'] });
console.log(peft.trainableParametersLine());

// %% [markdown]
// The last row is GPT-3 175B, modelled as it is: 96 layers of width 12288 with a plain two-matrix MLP of 4 × 12288
// (no gate). At $r = 8$ on $W_q, W_v$ its reduction is the fifth column. The LoRA paper's headline "10,000×" is the
// last column's setting, $r = 4$ on $W_q, W_v$ (Hu et al. 2021, abstract and §4.2: the checkpoint shrinks from 350 GB
// to 35 MB; §7.1 sweeps this 18M-parameter budget); the count is linear in $r$, so halving $r$ doubles the factor. The
// frozen $W_0$ is shared; each task is a few megabytes of $B$ and $A$.
//
// ## Exercises
//
// - [`exercises/03-lowrank-recovery`](../exercises/03-lowrank-recovery/README.md): the best rank-$r$ approximation of
//   a matrix, and the share of its energy kept.
// - [`exercises/03-freeze-and-count`](../exercises/03-freeze-and-count/README.md): freeze a model, add LoRA, count
//   what trains.
// - Drills for this section: `npm run drill -- --section 3`.
