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
import { createGemma, readGemmaConfig } from 'loralab/models/gemma';
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

// %% [markdown]
// Only one singular value is non-zero: $\sigma_1 = \lVert B \rVert \, \lVert A \rVert = \sqrt{14} \cdot \sqrt{5.25}
// \approx 8.573$. The rank of a matrix is the number of its non-zero singular values.
//
// ## SVD and the Eckart–Young theorem
//
// Any matrix factors as $M = U \Sigma V^\top$ with orthonormal $U, V$ and singular values
// $\sigma_1 \ge \sigma_2 \ge \dots \ge 0$. Keeping the top $r$ terms gives $M_r$, and Eckart–Young says no matrix of
// rank $r$ is closer to $M$: $\lVert M - M_r \rVert_F^2 = \sum_{i > r} \sigma_i^2$. So the singular values of a weight
// update tell exactly how well a LoRA of rank $r$ *could* represent it.
//
// A real weight update: `gemma-micro` was pre-trained from a seeded random initialisation. The difference between
// its trained `q_proj` of layer 0 and the initial one is what training wrote into that matrix.

// %%
const dir = '../datasets/models/gemma-micro';
const config = readGemmaConfig(dir);
const init = createGemma(config, { seed: 1234 }); // the initialisation scripts/pretrain-gemma-micro.mjs started from
const ckpt = CheckpointWeights.open(dir);
const name = 'model.layers.0.self_attn.q_proj.weight';
const [d, k] = ckpt.info(name).shape;
const trained = toFloat32(ckpt.read(name));
const initial = [...init.namedParameters()].find((p) => p.name === name)!.variable!.dataSync();
const delta = Float64Array.from(trained, (v, i) => v - initial[i]);
const svdDelta = svdJacobi(delta, d, k);
console.log(`${name}: ${d}×${k}, ‖ΔW‖_F = ${fro(delta).toFixed(4)}`);

// a Gaussian matrix with the same norm, for comparison: no structure, so no low-rank shortcut
let seed = 7;
const gauss = () => { seed = (seed * 1103515245 + 12345) % 2 ** 31; const u = (seed + 1) / 2 ** 31; seed = (seed * 1103515245 + 12345) % 2 ** 31; const v = (seed + 1) / 2 ** 31; return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v); };
const noise = Float64Array.from({ length: d * k }, gauss);
const scale = fro(delta) / fro(noise);
noise.forEach((v, i) => (noise[i] = v * scale));
const svdNoise = svdJacobi(noise, d, k);
const idx = Array.from({ length: svdDelta.k }, (_, i) => i + 1);
show(lineChart({
  title: 'Singular values of a trained weight update vs a random matrix of the same norm',
  x: { title: 'index i', log: true }, y: { title: 'singular value σᵢ', log: true },
  series: [{ name: 'ΔW (q_proj, layer 0)', x: idx, y: Array.from(svdDelta.S) }, { name: 'Gaussian, same ‖·‖_F', x: idx, y: Array.from(svdNoise.S), dash: 'dash' }],
}));

// %% [markdown]
// The trained update's spectrum falls off much faster than the random matrix's: a few directions carry most of it.
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
const errNoise = ranks.map((r) => relErr(svdNoise, noise, r));
showTable(['rank r', 'LoRA params r(d+k)', 'relative error ΔW (measured)', 'Eckart–Young √(Σ_{i>r}σᵢ²)/‖ΔW‖', 'relative error, Gaussian'],
  ranks.map((r, i) => [r, r * (d + k), errDelta[i].toFixed(4), tail(svdDelta, r).toFixed(4), errNoise[i].toFixed(4)]));
show(lineChart({
  title: 'Best rank-r approximation error (Eckart–Young)', x: { title: 'rank r', log: true }, y: { title: '‖ΔW − ΔW_r‖_F / ‖ΔW‖_F', range: [0, 1.05] },
  series: [{ name: 'trained ΔW', x: ranks, y: errDelta, mode: 'lines+markers' }, { name: 'Gaussian', x: ranks, y: errNoise, mode: 'lines+markers', dash: 'dash' }],
}));

// %% [markdown]
// Read the chart at a rank you might pick, say $r = 8$: that is the share of the update a rank-8 LoRA cannot express
// in this matrix, at $8(d+k)$ parameters instead of $dk$. Fine-tuning updates are usually even more low-rank than this
// pre-training update (notebook 3 measures one); that observation, "intrinsic rank", is the LoRA paper's premise.
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
// (`use_rslora=True`), $\gamma_r = \alpha / \sqrt{r}$. Why it matters: at initialisation and early in training the
// entries of $B$ and $A$ are roughly independent, so $\lVert BAx \rVert$ grows like $\sqrt{r}$. Multiply by
// $\alpha / r$ and the update *shrinks* as $1/\sqrt{r}$ when you raise the rank — large ranks learn slowly unless you
// raise α or the learning rate. $\alpha / \sqrt{r}$ keeps it constant. Measured on LoRA
// layers whose $A$ and $B$ are set to random values with entries of a fixed size (as they are, roughly, once training
// has moved them):

// %%
const dim = 256, alpha = 16;
const x = tf.randomNormal([64, dim], 0, 1, 'float32', 3);
const rs = [1, 2, 4, 8, 16, 32, 64, 128];
const updateNorm = (r: number, rslora: boolean) => {
  const layer = new LoraLinear(new Linear(dim, dim, { weight: new Float32Array(dim * dim) }), { r, loraAlpha: alpha, useRslora: rslora });
  layer.loraA.assign(tf.randomNormal([r, dim], 0, 1 / Math.sqrt(dim), 'float32', 4)); // (Ax)_j ~ N(0, 1)
  layer.loraB.assign(tf.randomNormal([dim, r], 0, 1, 'float32', 5));                 // B_ij ~ N(0, 1)
  const y = layer.forward(x); // the base weight is zero, so y is the scaled update γ·BAx alone
  const rms = Math.sqrt(tf.mean(tf.square(y)).dataSync()[0]);
  layer.dispose(); y.dispose();
  return rms;
};
show(lineChart({
  title: `RMS of the LoRA update γ·BAx (α = ${alpha}) as the rank grows`, x: { title: 'rank r', log: true }, y: { title: 'RMS of the update', log: true },
  series: [{ name: 'γ = α/r (LoRA)', x: rs, y: rs.map((r) => updateNorm(r, false)), mode: 'lines+markers' }, { name: 'γ = α/√r (rsLoRA)', x: rs, y: rs.map((r) => updateNorm(r, true)), mode: 'lines+markers' }],
}));
showTable(['r', 'α/r', 'α/√r'], rs.map((r) => [r, loraScaling(r, alpha), loraScaling(r, alpha, true).toFixed(3)]));

// %% [markdown]
// The α/r line falls as $1/\sqrt{r}$ (from about 16 at $r=1$ to about 1.4 at $r=128$); the rsLoRA line stays near α. This is why a common recipe sets $\alpha = 2r$ (keeping
// $\gamma$ fixed) when sweeping ranks, and why rsLoRA exists.
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
