// %% [markdown]
// # 4 · The mathematics of LoRA
//
// LoRA freezes a weight matrix $W_0 \in \mathbb{R}^{d \times k}$ and learns its update as a product of two thin
// matrices, $\Delta W = BA$ with $B \in \mathbb{R}^{d \times r}$, $A \in \mathbb{R}^{r \times k}$ and $r \ll \min(d, k)$.
// The layer computes
//
// $$h = W_0 x + \frac{\alpha}{r} B A x.$$
//
// This notebook works through the brief's questions with LoRA Lab's own code: the 3×3 rank-1 example, the SVD and the
// Eckart–Young theorem, the approximation error of a real weight delta as the rank grows, parameter counts for a 7B
// model, what `lora_alpha` and rsLoRA do to the scale, and why $B$ starts at zero.

// %%
import { svdJacobi, truncate, reconstruct, matmul } from 'loralab/linalg';
import { lineChart, barChart, heatmap, show, showTable, toRows } from 'loralab/viz';
import { namedConfig, loraParameterCount, totalParameters } from 'loralab/peft';
import { Linear, LoraLinear, loraScaling } from 'loralab/layers';
import { CheckpointWeights, toFloat32, Rng } from 'loralab';
import { createGemma, loadGemma, readGemmaConfig } from 'loralab/models/gemma';
import { getPeftModel } from 'loralab/peft';
import { Trainer, variablesTrainableSet, readJsonl, buildExample, SQL_TEMPLATE } from 'loralab/train';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from 'loralab/backend';
import * as tf from '@tensorflow/tfjs';
const backend = await initBackend();
const fro = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((s, v) => s + v * v, 0));

// %% [markdown]
// ## A 3×3 matrix of rank 1
//
// Take $B = (1, 2, 3)^\top$ and $A = (1, 0.5, 2)$. Their product is a full 3×3 matrix, yet every row is a multiple of
// $A$: its rank is 1. Stored as a matrix it takes 9 numbers; stored as $B$ and $A$ it takes $3 + 3 = 6$. For a
// $d \times k$ matrix the saving is $dk$ against $r(d + k)$, which is what makes LoRA small when $d$ and $k$ are in the
// thousands.

// %%
const B = [1, 2, 3];   // d × r = 3 × 1
const A = [1, 0.5, 2]; // r × k = 1 × 3
const dW = matmul(B, A, 3, 1, 3); // [3×1]·[1×3]
console.log('ΔW = BA =');
for (let i = 0; i < 3; i++) console.log('  ', Array.from(dW.slice(3 * i, 3 * i + 3)).join('\t'));
const sv = svdJacobi(dW, 3, 3);
console.log('singular values:', Array.from(sv.S).map((s) => Number(s.toFixed(6))));
console.log(`parameters as a matrix: ${3 * 3}, as B and A: ${3 * 1 + 1 * 3}`);
console.log(`‖B‖·‖A‖ = √${B.reduce((a, v) => a + v * v, 0)} · √${A.reduce((a, v) => a + v * v, 0)} = ${(fro(B) * fro(A)).toFixed(6)}`);

// %% [markdown]
// Only one singular value is non-zero, and it equals the product of the two vectors' lengths (the last line):
// $\sigma_1 = \lVert B \rVert \, \lVert A \rVert = \sqrt{14} \cdot \sqrt{5.25}$.
// The rank of a matrix is the number of its non-zero singular values.
//
// ## SVD and the Eckart–Young theorem
//
// Any matrix factors as $M = U \Sigma V^\top$ with orthonormal $U, V$ and singular values
// $\sigma_1 \ge \sigma_2 \ge \dots \ge 0$. Keeping the top $r$ terms gives $M_r$, and Eckart–Young says no matrix of
// rank $r$ is closer to $M$: $\lVert M - M_r \rVert_F^2 = \sum_{i > r} \sigma_i^2$. So the singular values of a weight
// update tell exactly how well a LoRA of rank $r$ *could* represent it.
//
// A real fine-tuning update. Load `gemma-micro`, make its linear layers trainable, fine-tune them for 16 steps on the
// text-to-SQL task (as notebook 3 does), and take $\Delta W = W_{\text{fine-tuned}} - W_0$ of layer 0's `q_proj`. For
// contrast, the *pre-training* update of the same matrix: its trained value minus the seeded initialisation that
// `scripts/pretrain-gemma-micro.mjs` started from.

// %%
const dir = '../datasets/models/gemma-micro';
const config = readGemmaConfig(dir);
const name = 'model.layers.0.self_attn.q_proj.weight';
const { model: ftModel, tokenizer } = loadGemma(dir);
const sqlExamples = (file: string, n: number) => readJsonl(`../datasets/sql/${file}`, ['question', 'sql']).slice(0, n).map((r) => buildExample(tokenizer!, SQL_TEMPLATE, r, { maxLength: 96, eosId: config.eosTokenId }));
const trainSet = sqlExamples('train.jsonl', 400), validSet = sqlExamples('valid.jsonl', 32);
const linears = [...ftModel.namedModules()].filter(([, m]) => m instanceof Linear) as [string, Linear][];
const target = linears.find(([n]) => `${n}.weight` === name)![1];
const W0 = target.denseWeight().slice();
ftModel.setTrainable(false);
for (const [, l] of linears) l.weight.trainable = true;
new Trainer(ftModel, variablesTrainableSet(new Map(linears.map(([n, l]) => [`${n}.weight`, l.weight]))), trainSet, [], { steps: 16, lr: 1e-3, batchSize: 8, warmupSteps: 4, schedule: 'constant', seed: 0, outDir: mkdtempSync(join(tmpdir(), 'loralab-nb04-')) }, config.padTokenId).run();
const [d, k] = [target.outFeatures, target.inFeatures];
const delta = Float64Array.from(target.denseWeight(), (v, i) => v - W0[i]);
const svdDelta = svdJacobi(delta, d, k);
console.log(`${name}: ${d}×${k}, fine-tuning update ‖ΔW‖_F = ${fro(delta).toFixed(4)}`);

// the pre-training update of the same matrix, for contrast
const init = createGemma(config, { seed: 1234 }); // the initialisation scripts/pretrain-gemma-micro.mjs started from
const ckpt = CheckpointWeights.open(dir);
const initial = [...init.namedParameters()].find((p) => p.name === name)!.variable!.dataSync();
const pretrainDelta = Float64Array.from(toFloat32(ckpt.read(name)), (v, i) => v - initial[i]);
const svdPretrain = svdJacobi(pretrainDelta, d, k);

// a Gaussian matrix with the same norm, for comparison: no structure, so no low-rank shortcut
let seed = 7;
const gauss = () => { seed = (seed * 1103515245 + 12345) % 2 ** 31; const u = (seed + 1) / 2 ** 31; seed = (seed * 1103515245 + 12345) % 2 ** 31; const v = (seed + 1) / 2 ** 31; return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v); };
const noise = Float64Array.from({ length: d * k }, gauss);
const scale = fro(delta) / fro(noise);
noise.forEach((v, i) => (noise[i] = v * scale));
const svdNoise = svdJacobi(noise, d, k);
const idx = Array.from({ length: svdDelta.k }, (_, i) => i + 1);
const normalised = (S: Float64Array) => { const top = S[0]; return Array.from(S, (v) => v / top); };
show(lineChart({
  title: 'Singular values (divided by the largest) of a fine-tuning update, a pre-training update and a random matrix',
  x: { title: 'index i', log: true }, y: { title: 'σᵢ / σ₁', log: true },
  series: [{ name: 'fine-tuning ΔW (q_proj, layer 0)', x: idx, y: normalised(svdDelta.S) }, { name: 'pre-training ΔW (same matrix)', x: idx, y: normalised(svdPretrain.S), dash: 'dot' }, { name: 'Gaussian', x: idx, y: normalised(svdNoise.S), dash: 'dash' }],
}));

// %% [markdown]
// The fine-tuning update's spectrum falls off much faster than the random matrix's: a few directions carry most of
// it. Its tail also falls faster than the pre-training update's: adapting to one task moves fewer directions than
// learning the language did.
// Now the error of the best rank-$r$ approximation, computed two ways — by reconstructing $M_r$ and measuring, and
// from the tail of the singular values as Eckart–Young predicts. The two columns must agree.

// %%
const ranks = [1, 2, 4, 8, 16, 32, 64, 128, 256].filter((r) => r <= svdDelta.k);
const relErr = (s: typeof svdDelta, M: Float64Array, r: number) => {
  const Mr = reconstruct(truncate(s, r));
  return fro(M.map((v, i) => v - Mr[i])) / fro(M);
};
const tail = (s: typeof svdDelta, r: number) => Math.sqrt(s.S.slice(r).reduce((a, v) => a + v * v, 0) / s.S.reduce((a, v) => a + v * v, 0));
const errDelta = ranks.map((r) => relErr(svdDelta, delta, r));
const errPretrain = ranks.map((r) => tail(svdPretrain, r));
const errNoise = ranks.map((r) => relErr(svdNoise, noise, r));
showTable(['rank r', 'LoRA params r(d+k)', 'relative error, fine-tuning ΔW (measured)', 'Eckart–Young √(Σ_{i>r}σᵢ²)/‖ΔW‖', 'pre-training ΔW', 'Gaussian'],
  ranks.map((r, i) => [r, r * (d + k), errDelta[i].toFixed(4), tail(svdDelta, r).toFixed(4), errPretrain[i].toFixed(4), errNoise[i].toFixed(4)]));
show(lineChart({
  title: 'Best rank-r approximation error (Eckart–Young)', x: { title: 'rank r', log: true }, y: { title: '‖ΔW − ΔW_r‖_F / ‖ΔW‖_F', range: [0, 1.05] },
  series: [{ name: 'fine-tuning ΔW', x: ranks, y: errDelta, mode: 'lines+markers' }, { name: 'pre-training ΔW', x: ranks, y: errPretrain, mode: 'lines+markers', dash: 'dot' }, { name: 'Gaussian', x: ranks, y: errNoise, mode: 'lines+markers', dash: 'dash' }],
}));

// %% [markdown]
// Read the chart at a rank you might pick, say $r = 8$: that is the share of the update a rank-8 LoRA cannot express
// in this matrix, at $8(d+k)$ parameters instead of $dk$. It need not be small for LoRA to work: notebook 3 shows the
// loss recovering while much of the norm is left out. That fine-tuning updates have low "intrinsic rank" is the LoRA
// paper's premise.
//
// ## Parameter counts: a 7B model at r = 1 and r = 4
//
// LLaMA-7B has 32 layers with hidden size 4096. With LoRA on $W_q$ and $W_v$ (the paper's choice), each adapted
// matrix adds $r(4096 + 4096)$ parameters. The library counts from the model's shapes:

// %%
const llama7b = namedConfig('llama-7b')!;
const total7b = totalParameters(llama7b);
const rows7b = [1, 4, 8, 64].flatMap((r) => [['q_proj', 'v_proj'], 'all-linear'].map((t) => {
  const n = loraParameterCount(llama7b, { r, loraAlpha: r, targetModules: t });
  return [r, Array.isArray(t) ? t.join(', ') : t, n, `${((100 * n) / total7b).toFixed(4)} %`, `${(n * 2 / 2 ** 20).toFixed(1)} MiB`];
}));
console.log(`LLaMA-7B: ${total7b.toLocaleString('en-US')} parameters`);
showTable(['r', 'target modules', 'trainable parameters', 'of the model', 'adapter file (bf16)'], rows7b);

// %% [markdown]
// At $r = 1$ on $W_q, W_v$: $32 \times 2 \times 8192 = 524{,}288$ parameters; at $r = 4$, four times that, about
// 2.1 million — 0.03 % of the model, a 4 MiB file. The count is linear in $r$.
//
// ## What α and the scaling do
//
// The update enters as $\gamma_r BAx$. With PEFT's default, $\gamma_r = \alpha / r$; with rsLoRA
// (`use_rslora=True`), $\gamma_r = \alpha / \sqrt{r}$ (Kalajdzievski 2023). Why it matters: once training has moved
// them, the entries of $B$ and $A$ are roughly independent and of a given size, so $BAx$ sums $r$ terms and
// $\lVert BAx \rVert$ grows like $\sqrt{r}$. Three ways of choosing α as you raise the rank then behave differently:
//
// - **α fixed** (the LoRA paper: "we simply set α to the first r we try and do not tune it", noting that tuning α is
//   roughly the same as tuning the learning rate; Hu et al. 2021, §4.1): $\gamma = \alpha / r$ falls as $1/r$, and the
//   update *shrinks* like $1/\sqrt{r}$: large ranks learn slowly unless the learning rate goes up.
// - **α = 2r**, a common recipe: $\gamma = 2$ is constant, so the update *grows* with $r$ at a fixed learning rate
//   (like $\sqrt{r}$ here): large ranks take larger steps and can go unstable (notebook 8's rank sweep).
// - **rsLoRA**, $\gamma = \alpha/\sqrt{r}$: the update's size stays the same at every rank, so one learning rate
//   suits them all. That is what "rank-stabilized" means.
//
// Measured on LoRA layers whose $A$ and $B$ are set to random values with entries of a fixed size:

// %%
const dim = 256, alpha = 16;
const x = tf.randomNormal([64, dim], 0, 1, 'float32', 3);
const rs = [1, 2, 4, 8, 16, 32, 64, 128];
const updateNorm = (r: number, a: number, rslora: boolean) => {
  const layer = new LoraLinear(new Linear(dim, dim, { weight: new Float32Array(dim * dim) }), { r, loraAlpha: a, useRslora: rslora });
  layer.loraA.assign(tf.randomNormal([r, dim], 0, 1 / Math.sqrt(dim), 'float32', 4)); // (Ax)_j ~ N(0, 1)
  layer.loraB.assign(tf.randomNormal([dim, r], 0, 1, 'float32', 5));                 // B_ij ~ N(0, 1)
  const y = layer.forward(x); // the base weight is zero, so y is the scaled update γ·BAx alone
  const rms = Math.sqrt(tf.mean(tf.square(y)).dataSync()[0]);
  layer.dispose(); y.dispose();
  return rms;
};
const fixedA = rs.map((r) => updateNorm(r, alpha, false)), twoR = rs.map((r) => updateNorm(r, 2 * r, false)), rsl = rs.map((r) => updateNorm(r, alpha, true));
show(lineChart({
  title: 'RMS of the LoRA update γ·BAx as the rank grows', x: { title: 'rank r', log: true }, y: { title: 'RMS of the update', log: true },
  series: [
    { name: `γ = α/r, α = ${alpha} fixed`, x: rs, y: fixedA, mode: 'lines+markers' },
    { name: 'γ = α/r, α = 2r (γ = 2)', x: rs, y: twoR, mode: 'lines+markers' },
    { name: `γ = α/√r (rsLoRA), α = ${alpha}`, x: rs, y: rsl, mode: 'lines+markers' },
  ],
}));
showTable(['r', `α/r (α = ${alpha})`, 'α/r (α = 2r)', `α/√r (α = ${alpha})`, 'RMS, α fixed', 'RMS, α = 2r', 'RMS, rsLoRA'],
  rs.map((r, i) => [r, loraScaling(r, alpha), loraScaling(r, 2 * r), loraScaling(r, alpha, true).toFixed(3), fixedA[i].toFixed(2), twoR[i].toFixed(2), rsl[i].toFixed(2)]));

// %% [markdown]
// Read the last three columns: with α fixed the update falls by about $\sqrt{128} \approx 11$ between $r = 1$ and
// $r = 128$, with α = 2r it rises by as much, and with rsLoRA it stays put. So α = 2r does keep $\gamma$ fixed, but
// a fixed $\gamma$ is not a fixed update; when you sweep ranks, either re-tune the learning rate per rank or use
// rsLoRA.
//
// Random factors are a model of training, not training. So train it: LoRA on the attention projections of `gemma-micro`,
// α = 16, the same learning rate, data and seed, at a small and a large rank, with $\gamma = \alpha / r$ and with
// rsLoRA's $\alpha / \sqrt{r}$ (`useRslora: true`). 10 steps each:

// %%
const lossCurves = [4, 64].flatMap((r) => [false, true].map((useRslora) => {
  const { model: m } = loadGemma(dir);
  const peft = getPeftModel(m, { r, loraAlpha: alpha, useRslora, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] });
  const t = new Trainer(m, variablesTrainableSet(new Map(peft.trainableVariables().map((v) => [v.name, v]))), trainSet, validSet, { steps: 10, lr: 3e-3, batchSize: 8, warmupSteps: 2, schedule: 'constant', seed: 0, evalEvery: 10, outDir: mkdtempSync(join(tmpdir(), 'loralab-nb04-rs-')) }, config.padTokenId);
  const rec = t.run();
  return { name: `r = ${r}, γ = ${useRslora ? 'α/√r' : 'α/r'} = ${loraScaling(r, alpha, useRslora).toFixed(2)}`, r, useRslora, steps: rec.map((x) => x.step), loss: rec.map((x) => x.loss), evalLoss: rec.at(-1)!.evalLoss! };
}));
show(lineChart({ title: 'Training loss of LoRA (q, k, v, o; α = 16, lr 3e-3) at two ranks, α/r vs rsLoRA', x: 'step', y: 'training loss (SQL tokens)',
  series: lossCurves.map((c) => ({ name: c.name, x: c.steps, y: c.loss, dash: c.useRslora ? 'solid' as const : 'dash' as const })) }));
showTable(['rank', 'scaling', 'γ', 'validation loss after 10 steps'], lossCurves.map((c) => [c.r, c.useRslora ? 'rsLoRA α/√r' : 'LoRA α/r', loraScaling(c.r, alpha, c.useRslora).toFixed(3), c.evalLoss.toFixed(4)]));
const [l4, rs4, l64, rs64] = lossCurves.map((c) => c.evalLoss);
console.log(`γ = α/r: r = 64 ${l64 > l4 ? 'ends worse than' : 'ends no worse than'} r = 4 (${l64.toFixed(3)} vs ${l4.toFixed(3)}); rsLoRA: r = 64 ${rs64 < rs4 ? 'ends better than' : 'ends no better than'} r = 4 (${rs64.toFixed(3)} vs ${rs4.toFixed(3)})`);

// %% [markdown]
// What to expect, and the last line says what happened: with $\gamma = \alpha/r$ the large rank learns more slowly
// than the small one at the same learning rate, because its update is $\sqrt{64/4} = 4$ times smaller at the same size
// of factors; with rsLoRA the two ranks start from the same footing, and the larger rank can use its extra directions.
// (Ten steps on a tiny model are a demonstration, not a benchmark; Kalajdzievski 2023 shows the effect at scale.)
//
// ## Why B starts at zero
//
// PEFT initialises $A$ with Kaiming-uniform values and $B$ with zeros. Then $\Delta W = BA = 0$: the adapted model
// starts as *exactly* the pre-trained model, so fine-tuning begins from the behaviour you chose. (Were both random,
// step 0 would add noise to every adapted layer.) The gradients still flow: $\partial L / \partial B = \gamma\, g\,(Ax)^\top$
// is non-zero because $A \ne 0$, while $\partial L / \partial A = \gamma B^\top g x^\top$ is zero at the first step and
// becomes non-zero once $B$ has moved.

// %%
const base = new Linear(dim, dim, { weight: new Rng(3).normalArray(dim * dim, 1 / Math.sqrt(dim)) }); // seeded, so the numbers below are the same on every run
const lora = new LoraLinear(base, { r: 8, loraAlpha: 16 });
const xs = tf.randomNormal([4, dim], 0, 1, 'float32', 11);
const y0 = base.forward(xs), y1 = lora.forward(xs);
console.log('max |LoRA output − base output| at initialisation:', tf.max(tf.abs(tf.sub(y1, y0))).dataSync()[0]);
const { grads } = tf.variableGrads(() => tf.sum(tf.square(lora.forward(xs))) as tf.Scalar, [lora.loraA, lora.loraB]);
const gA = grads[lora.loraA.name], gB = grads[lora.loraB.name];
console.log(`‖∂L/∂A‖ = ${tf.norm(gA).dataSync()[0]}   ‖∂L/∂B‖ = ${tf.norm(gB).dataSync()[0].toFixed(4)}`);
show(heatmap({ title: 'ΔW = γ·BA after one gradient step on B (first 32×32 entries)', z: toRows((() => { lora.loraB.assign(tf.sub(lora.loraB, tf.mul(gB, 1e-3))); const w = lora.getDeltaWeight(); return Array.from({ length: 32 * 32 }, (_, i) => w[Math.floor(i / 32) * dim + (i % 32)]); })(), 32, 32), x: 'input feature', y: 'output feature', zmid: 0 }));

// %% [markdown]
// At initialisation the output is identical to the base (the difference is exactly 0) and $A$ gets no gradient, but
// $B$ does; after one step on $B$, $\Delta W$ is a small rank-8 matrix.
//
// ## Exercises
//
// - [`exercises/04-lora-param-count`](../exercises/04-lora-param-count/README.md): count LoRA parameters for any model,
//   rank and set of target modules.
// - [`exercises/04-lora-forward-merge`](../exercises/04-lora-forward-merge/README.md): implement the LoRA forward pass
//   and merge/unmerge.
// - Drills for this section: `npm run drill -- --section 4`.
