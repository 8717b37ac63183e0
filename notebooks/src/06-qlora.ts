// %% [markdown]
// # 6 · QLoRA: 4-bit NormalFloat, double quantization, bf16 compute
//
// QLoRA (Dettmers et al., 2023) fine-tunes a LoRA on top of a base model stored in 4 bits. The paper names three
// contributions (§3): the **4-bit NormalFloat (NF4)** data type (16 values placed at normal quantiles), **double
// quantization** (the quantization constants themselves stored in 8 bits), and **paged optimizers** (optimizer states
// in unified memory, evicted to CPU RAM under memory spikes). All three rest on **blockwise absmax** quantization —
// one scale per block of 64 weights — which comes from the earlier 8-bit optimizers work (Dettmers et al. 2022,
// *8-bit Optimizers via Block-wise Quantization*). The base is dequantized to **bf16** on the fly for each matrix
// multiply; gradients flow through it to the LoRA weights only.
//
// Everything below runs LoRA Lab's implementation, which is bit-compatible with bitsandbytes (the test suite checks it
// against bitsandbytes' reference vectors byte for byte).

// %%
import { createNormalMap, NF4_CODE, FP4_CODE, quantize4bit, dequantize4bit, bitsPerParameter, roundToBf16, toBf16, fromBf16 } from 'loralab/quant';
import { CheckpointWeights, toFloat32 } from 'loralab';
import { loadGemma, type GemmaForCausalLM } from 'loralab/models/gemma';
import { Trainer, buildExample, packExamples, TEXT_TEMPLATE } from 'loralab/train';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Linear, Linear4bit, LoraLinear } from 'loralab/layers';
import { namedConfig } from 'loralab/peft';
import { predictMemory } from 'loralab/memory';
import { initBackend } from 'loralab/backend';
import { lineChart, barChart, histogram, show, showTable } from 'loralab/viz';
import * as tf from '@tensorflow/tfjs';
const backend = await initBackend();

// %% [markdown]
// ## NF4 from the normal quantiles
//
// Pre-trained weights are roughly normal with mean zero. An *information-theoretically optimal* 4-bit type for such
// data puts its 16 levels so that each is equally likely: at quantiles of $N(0, 1)$. bitsandbytes'
// `create_normal_map` takes 8 positive quantiles $\Phi^{-1}(p)$ for $p$ evenly spaced from $0.9677$ down to $0.5$, 7
// negative ones, and an exact $0$ (so that zero padding and zero weights stay exact), then divides by the largest.
// LoRA Lab re-derives it with its own $\Phi^{-1}$ and compares with the table bitsandbytes ships:

// %%
const { code: derived, trace } = createNormalMap();
const maxDiff = Math.max(...Array.from(derived, (v, i) => Math.abs(v - NF4_CODE[i])));
showTable(['code', 'derived from Φ⁻¹', "bitsandbytes' table", 'FP4 (for comparison)'],
  Array.from(NF4_CODE, (v, i) => [i, derived[i].toFixed(7), v.toFixed(7), [...FP4_CODE].sort((a, b) => a - b)[i].toFixed(4)]));
console.log(`largest difference between the derivation and the table: ${maxDiff.toExponential(2)}`);
console.log('positive quantile probabilities:', Array.from(trace.positiveProbs, (p) => p.toFixed(4)).join(', '));
show(lineChart({
  title: 'The 16 levels of NF4 and FP4', x: 'code index (sorted)', y: 'value (in units of the block absmax)',
  series: [{ name: 'NF4', x: [...Array(16).keys()], y: Array.from(NF4_CODE), mode: 'lines+markers' }, { name: 'FP4', x: [...Array(16).keys()], y: [...FP4_CODE].sort((a, b) => a - b), mode: 'lines+markers', dash: 'dash' }],
}));

// %% [markdown]
// NF4's levels crowd near zero, where most weights are; FP4's (1 sign, 2 exponent, 1 mantissa bit) are spread
// geometrically. There are 8 positive NF4 levels and 7 negative ones plus zero.
//
// ## Quantizing a real weight, block by block
//
// Take `gemma-micro`'s first MLP `down_proj` (256 × 768 = 196,608 weights). Each block of 64 consecutive weights is
// divided by its absolute maximum (so it lies in $[-1, 1]$), each value is replaced by the index of the nearest NF4
// level (ties go to the lower one), and two 4-bit codes are packed per byte. Every intermediate is kept:

// %%
const ckpt = CheckpointWeights.open('../datasets/models/gemma-micro');
const wName = 'model.layers.0.mlp.down_proj.weight';
const [outF, inF] = ckpt.info(wName).shape;
const W = roundToBf16(toFloat32(ckpt.read(wName))); // the bf16 values a bf16 checkpoint would hold
const q = quantize4bit(W, { quantType: 'nf4', blocksize: 64, shape: [outF, inF], dtype: 'bfloat16', trace: true });
const t = q.trace;
console.log(`${wName}: [${outF}, ${inF}], ${W.length} weights in ${t.absmax.length} blocks of 64`);
console.log('first block: x[0..4] =', Array.from(W.slice(0, 4), (v) => v.toFixed(5)).join(', '), ` absmax = ${t.absmax[0].toFixed(5)}`);
console.log('   scaled  =', Array.from(t.scaled.slice(0, 4), (v) => v.toFixed(4)).join(', '));
console.log('   codes   =', Array.from(t.codes.slice(0, 4)).join(', '), ` packed bytes: ${Array.from(q.state.packed.slice(0, 2), (b) => '0x' + b.toString(16).padStart(2, '0')).join(' ')}`);
console.log('   dequant =', Array.from(t.dequantized.slice(0, 4), (v) => v.toFixed(5)).join(', '));
show(histogram({ title: 'Weights of down_proj (layer 0)', x: 'weight value', series: [{ name: 'weights', values: W }], bins: 80 }));
show(histogram({ title: 'Per-block absmax (one float per 64 weights)', x: 'absmax', series: [{ name: 'absmax', values: t.absmax }], bins: 60 }));

// %% [markdown]
// The absmax varies from block to block — one outlier sets the scale of its 63 neighbours, which is why small blocks
// (64) beat a single scale per tensor. After scaling, values lie in $[-1, 1]$ and each snaps to a code:

// %%
const codeCounts = new Array(16).fill(0);
for (const c of t.codes) codeCounts[c]++;
const uniform = W.length / 16;
const probs = codeCounts.map((c) => c / W.length);
const entropy = -probs.reduce((a, p) => a + (p > 0 ? p * Math.log2(p) : 0), 0);
const codeFig = barChart({ title: 'How often each NF4 code is used (down_proj, layer 0), against equal use', x: 'code', y: 'weights', categories: [...Array(16).keys()].map(String), series: [{ name: 'count', values: codeCounts }] });
codeFig.data.push({ type: 'scatter', mode: 'lines', name: 'equal use (n / 16)', x: [...Array(16).keys()].map(String), y: codeCounts.map(() => uniform), line: { dash: 'dash' } });
codeFig.layout.showlegend = true;
show(codeFig);
console.log(`codes used from ${Math.min(...codeCounts).toLocaleString('en-US')} to ${Math.max(...codeCounts).toLocaleString('en-US')} times (${(Math.max(...codeCounts) / Math.min(...codeCounts)).toFixed(1)}×); entropy ${entropy.toFixed(2)} bits of the 4 available`);
// what NF4 assumes: values distributed as its levels are, N(0, 1) scaled so that the quantile Φ⁻¹(0.9677) lands on 1
const assumedStd = 1 / trace.positive[0];
const stdScaled = Math.sqrt(Array.from(t.scaled).reduce((a, v) => a + v * v, 0) / t.scaled.length);
const meanAbsmaxInSigmas = Array.from(t.absmax).reduce((a, m, b) => { const blk = W.subarray(64 * b, 64 * b + 64); const sd = Math.sqrt(blk.reduce((s2, v) => s2 + v * v, 0) / blk.length); return a + m / sd; }, 0) / t.absmax.length;
showTable(['', 'value'], [
  ['std of the scaled values NF4 assumes, 1 / Φ⁻¹(0.9677)', assumedStd.toFixed(3)],
  ['std of the scaled values, measured', stdScaled.toFixed(3)],
  ['mean block absmax, in units of the block\'s own std', meanAbsmaxInSigmas.toFixed(2)],
]);
show(histogram({ title: 'Quantization error (dequantized − original)', x: 'error', series: [{ name: 'error', values: t.error }], bins: 80 }));

// %% [markdown]
// The codes are **not** used uniformly: the inner codes carry several times more weights than the outer ones, and the
// entropy falls short of 4 bits. Why: NF4's levels are the quantiles of $N(0, 1)$ rescaled so that the outermost one,
// $\Phi^{-1}(0.9677) \approx 1.85$, lands on 1, which assumes the scaled values have a standard deviation of
// $1/1.85$. But each block is divided by its own absmax, and the largest of 64 normal values lies around 2.5 standard
// deviations out (the last row), not 1.85: the scaled block is *narrower* than NF4 assumes, so the central codes fill
// up and the outer ones stay rare (apart from the ±1 code that every block's absmax itself takes). NF4 is still the
// best of the 4-bit types below, but "information-theoretically optimal" holds for the distribution it assumes, not
// for the blocks it is given. The error is bounded by half the gap between neighbouring levels times the block's
// absmax.
//
// ## NF4 vs FP4 vs int4
//
// Same weight, same blocksize, three 4-bit types. int4 here is symmetric absmax integer quantization: levels
// $k/7$ for $k = -7..7$.

// %%
const rms = (e: ArrayLike<number>) => Math.sqrt(Array.from(e).reduce((s, v) => s + v * v, 0) / e.length);
const errOf = (quantType: 'nf4' | 'fp4') => rms(quantize4bit(W, { quantType, blocksize: 64, trace: true }).trace.error);
const int4Error = (blocksize: number) => {
  let s = 0;
  for (let b = 0; b < W.length; b += blocksize) {
    const blk = W.subarray(b, b + blocksize);
    const m = Math.max(...Array.from(blk, Math.abs)) || 1;
    for (const v of blk) { const d = (Math.round((v / m) * 7) / 7) * m - v; s += d * d; }
  }
  return Math.sqrt(s / W.length);
};
const rmsW = rms(W);
const rowsErr = [['NF4', errOf('nf4')], ['FP4', errOf('fp4')], ['int4 (absmax)', int4Error(64)]] as [string, number][];
showTable(['4-bit type (blocksize 64)', 'RMS error', 'RMS error / RMS weight'], rowsErr.map(([n, e]) => [n, e.toExponential(3), (e / rmsW).toFixed(4)]));
const blocksizes = [32, 64, 128, 256, 512, 1024, 4096];
show(lineChart({
  title: 'Quantization error vs blocksize (down_proj, layer 0)', x: { title: 'blocksize', log: true }, y: 'RMS error / RMS weight',
  series: [
    { name: 'NF4', x: blocksizes, y: blocksizes.map((b) => rms(quantize4bit(W, { quantType: 'nf4', blocksize: b, trace: true }).trace.error) / rmsW), mode: 'lines+markers' },
    { name: 'FP4', x: blocksizes, y: blocksizes.map((b) => rms(quantize4bit(W, { quantType: 'fp4', blocksize: b, trace: true }).trace.error) / rmsW), mode: 'lines+markers' },
    { name: 'int4', x: blocksizes, y: blocksizes.map((b) => int4Error(b) / rmsW), mode: 'lines+markers', dash: 'dash' },
  ],
}));

// %% [markdown]
// NF4 has the lowest error of the three at every blocksize, and every type gets worse as blocks grow (one absmax has to
// cover more values).
//
// ## Double quantization: 0.5 → 0.127 bits per parameter
//
// One float32 absmax per 64 weights costs $32 / 64 = 0.5$ bits per parameter on top of the 4 bits of codes. Double
// quantization subtracts the mean absmax, quantizes the result to 8 bits with bitsandbytes' dynamic map in blocks of
// 256, and keeps one float32 per 256 blocks: $8/64 + 32/(64 \cdot 256) = 0.125 + 0.00195 = 0.127$ bits. Measured from
// the bytes LoRA Lab stores for this matrix:

// %%
const single = bitsPerParameter(quantize4bit(W, { blocksize: 64 }).state);
const dq = quantize4bit(W, { blocksize: 64, doubleQuant: true, trace: true });
const double = bitsPerParameter(dq.state);
showTable(['storage', 'code bits / param', 'constant bits / param', 'total bits / param'], [
  ['bf16', 16, 0, 16],
  ['NF4, float32 absmax', single.codes, single.constants.toFixed(4), single.total.toFixed(4)],
  ['NF4 + double quantization', double.codes, double.constants.toFixed(4), double.total.toFixed(4)],
]);
const absErr = dq.trace!.doubleQuant!.error;
console.log(`absmax recovered from 8 bits: RMS relative error ${(rms(absErr) / rms(t.absmax)).toExponential(2)}; weight RMS error ${rms(t.error).toExponential(3)} → ${rms(dq.trace!.error).toExponential(3)} with double quantization`);
const g2b = namedConfig('gemma-2b')!;
const gb = (b: number) => Number((b / 1e9).toFixed(2));
const m16 = predictMemory(g2b, { method: 'lora', r: 8 }).bytes.weights + predictMemory(g2b, { method: 'lora', r: 8 }).bytes.quantizationConstants;
const m4 = predictMemory(g2b, { method: 'qlora', r: 8, doubleQuant: false }).bytes;
const m4dq = predictMemory(g2b, { method: 'qlora', r: 8, doubleQuant: true }).bytes;
show(barChart({ title: 'Gemma-2B weights in memory', x: 'storage', y: 'GB', categories: ['bf16', 'NF4', 'NF4 + double quant'], stacked: true,
  series: [{ name: 'weights / codes', values: [gb(m16), gb(m4.weights), gb(m4dq.weights)] }, { name: 'quantization constants', values: [0, gb(m4.quantizationConstants), gb(m4dq.quantizationConstants)] }] }));

// %% [markdown]
// At Gemma-2B scale, double quantization saves the difference between the two constant bars; at 65B it is about 3 GB,
// which is what let the paper fit 65B fine-tuning on one 48 GB GPU. The price is a tiny extra error in each absmax.
//
// ## bf16 dequantized compute
//
// The 4-bit codes are never multiplied directly. `Linear4bit` dequantizes the weight to **bf16** values
// (`bnb_4bit_compute_dtype=torch.bfloat16`), rounds the input to bf16 too, and multiplies. bf16 keeps float32's 8-bit
// exponent (no overflow) with a 7-bit mantissa. Compare the layer's output with the exact float32 layer:

// %%
const x = tf.randomNormal([16, inF], 0, 1, 'float32', 1);
const dense = new Linear(inF, outF, { weight: W });
const q4 = Linear4bit.fromWeight(W, outF, inF, { quantType: 'nf4', blocksize: 64, doubleQuant: true, computeDtype: 'bfloat16' });
const yRef = dense.forward(x), y4 = q4.forward(x);
const relOut = tf.norm(tf.sub(y4, yRef)).dataSync()[0] / tf.norm(yRef).dataSync()[0];
console.log(`relative output error of the 4-bit layer (NF4 + DQ, bf16 compute): ${relOut.toFixed(4)}`);
console.log('bf16 of 1/3:', fromBf16(toBf16([1 / 3]))[0], ' (float32:', Math.fround(1 / 3), ')');

// %% [markdown]
// ## Does 4-bit hurt the model?
//
// The QLoRA paper's core evidence is model quality under each data type (its Figure 3: zero-shot accuracy of
// LLaMA models stored in int4, FP4 and NF4 + DQ; its Table 2: perplexity by data type). Here is the same measurement on
// `gemma-micro`: its loss on held-out pre-training text (every 50th paragraph of the corpus, which pre-training never
// saw; 16 rows of 128 tokens), with **every linear layer** stored in each format. Two effects are kept apart: the 4-bit *storage* error,
// measured with the dequantized weights multiplied in float32, and the *bf16 compute* error, which QLoRA adds by
// rounding the dequantized weight and the input to bf16 for the multiply (the last row against the one above it).

// %%
const microDir = '../datasets/models/gemma-micro';
const { model: microModel, tokenizer: microTok, config: microCfg } = loadGemma(microDir, { dtype: 'float32' });
const paragraphs = readFileSync('../datasets/corpus/corpus.txt', 'utf8').split('\n\n').filter(Boolean);
const heldOut = packExamples(paragraphs.filter((_, i) => i % 50 === 0).map((text) => buildExample(microTok!, TEXT_TEMPLATE, { text }, { maxLength: 4096, eosId: microCfg.eosTokenId })), 128).slice(0, 16);
const outDir = mkdtempSync(join(tmpdir(), 'loralab-nb06-'));
const heldOutLoss = (m: GemmaForCausalLM) => { const l = new Trainer(m, { params: new Map(), save: () => {}, load: () => {} }, heldOut, heldOut, { steps: 1, lr: 0, batchSize: 8, outDir }, microCfg.padTokenId).evaluate(); m.dispose(); return l; };
// int4: symmetric absmax integers k/7, k = -7..7, per block (not a bitsandbytes type; the paper's int4 baseline)
const int4Values = (w: Float32Array, blocksize: number) => {
  const out = new Float32Array(w.length);
  for (let b = 0; b < w.length; b += blocksize) {
    const blk = w.subarray(b, b + blocksize);
    const m = blk.reduce((a, v) => Math.max(a, Math.abs(v)), 0) || 1;
    blk.forEach((v, i) => (out[b + i] = (Math.round((v / m) * 7) / 7) * m));
  }
  return out;
};
const fakeQuantized = (f: (w: Float32Array) => Float32Array) => {
  const { model: m } = loadGemma(microDir, { dtype: 'float32' });
  for (const [, l] of m.namedModules()) if (l instanceof Linear) l.setWeight(f(l.denseWeight()));
  return m;
};
const load4bit = (quantType: 'nf4' | 'fp4', doubleQuant: boolean, computeDtype: 'float32' | 'bfloat16', blocksize = 64) =>
  loadGemma(microDir, { loadIn4bit: true, bnb4bitQuantType: quantType, bnb4bitUseDoubleQuant: doubleQuant, bnb4bitComputeDtype: computeDtype, bnb4bitBlocksize: blocksize }).model;
const fp32Loss = heldOutLoss(microModel);
const dtypeRows: [string, number][] = [
  ['fp32 (as trained)', fp32Loss],
  ['bf16 weights', heldOutLoss(loadGemma(microDir, { dtype: 'bfloat16' }).model)],
  ['int4 absmax (blocks of 64)', heldOutLoss(fakeQuantized((w) => int4Values(w, 64)))],
  ['FP4 (blocks of 64)', heldOutLoss(load4bit('fp4', false, 'float32'))],
  ['NF4 (blocks of 64)', heldOutLoss(load4bit('nf4', false, 'float32'))],
  ['NF4 + double quantization', heldOutLoss(load4bit('nf4', true, 'float32'))],
  ['NF4 + double quantization, bf16 compute (QLoRA)', heldOutLoss(load4bit('nf4', true, 'bfloat16'))],
];
showTable(['linear layers stored as', 'held-out loss', 'perplexity', 'loss − fp32'], dtypeRows.map(([n, l]) => [n, l.toFixed(4), Math.exp(l).toFixed(2), (l - fp32Loss).toFixed(4)]));
show(barChart({ title: 'gemma-micro: held-out loss increase over fp32, by storage format of the linear layers', x: 'format', y: 'loss − fp32 loss (nats per token)', categories: dtypeRows.slice(1).map(([n]) => n), series: [{ name: 'loss increase', values: dtypeRows.slice(1).map(([, l]) => l - fp32Loss) }] }));
const [nf4dq, nf4dqBf16] = [dtypeRows[5][1], dtypeRows[6][1]];
console.log(`NF4 + DQ storage error: ${(nf4dq - fp32Loss).toFixed(4)} nats per token; bf16 compute adds ${(nf4dqBf16 - nf4dq).toFixed(4)}`);
console.log(`4-bit formats from best to worst here: ${dtypeRows.slice(2, 6).sort((a, b) => a[1] - b[1]).map(([n]) => n).join(' < ')}`);

// %% [markdown]
// Read the last column, and the last line for the order: the paper's Figure 3 ranks the 4-bit types NF4 + DQ above FP4
// above int4, with double quantization costing nothing measurable; here is the same comparison on a model 10,000 times
// smaller. bf16 compute on top is a separate error (the first line).
// Then the blocksize: larger blocks store fewer constants (bits per parameter fall towards 4) but one absmax covers
// more weights, so the loss rises:

// %%
const sweep = [32, 64, 256, 1024, 4096];
const sweepLoss = (quantType: 'nf4' | 'fp4') => sweep.map((b) => heldOutLoss(load4bit(quantType, false, 'float32', b)) - fp32Loss);
const nf4Sweep = sweepLoss('nf4'), fp4Sweep = sweepLoss('fp4');
show(lineChart({ title: 'Held-out loss increase over fp32 vs blocksize (every linear layer quantized, fp32 compute)', x: { title: 'blocksize', log: true }, y: 'loss − fp32 loss (nats per token)',
  series: [{ name: 'NF4', x: sweep, y: nf4Sweep, mode: 'lines+markers' }, { name: 'FP4', x: sweep, y: fp4Sweep, mode: 'lines+markers', dash: 'dash' }] }));
showTable(['blocksize', 'bits per parameter (float32 absmax)', 'NF4: loss − fp32', 'FP4: loss − fp32'], sweep.map((b, i) => [b, (4 + 32 / b).toFixed(3), nf4Sweep[i].toFixed(4), fp4Sweep[i].toFixed(4)]));

// %% [markdown]
// ### Why there is no NF4 matmul
//
// An NF4 code is an *index* into a table of 16 floats, not a number: code 7 means 0, code 15 means 1.0 × absmax, and
// the gaps between neighbouring levels are all different. Adding or multiplying two indices means nothing, and no
// hardware has an NF4 multiplier. So every product needs a real float type: the weight is looked up and scaled into
// bf16 (or fp16, or float32) and multiplied in that type — the `bnb_4bit_compute_dtype`. 4-bit is storage only; it
// saves memory and the bytes read per token (notebook 2), and it costs a dequantization in every forward and backward
// pass. (int4 *is* a number, and int4 tensor cores exist, but int4's evenly spaced levels fit normal weights worse, as
// the table shows.)
//
// %% [markdown]
// ## Dequantizing has to be cheap
//
// QLoRA dequantizes every frozen weight in every forward pass, and again in the backward pass. Writing
// $\hat W_e = \text{code}[q_e] \cdot \text{absmax}_{\lfloor e / 64 \rfloor}$ is one table lookup and one multiply
// per value, so it should run about as fast as memory can be written. A plain JavaScript loop does not get there.
// LoRA Lab's WebAssembly SIMD kernel does: WebAssembly has no vector gather, so it looks the 16-entry codebook up one
// byte of the float32 at a time with `i8x16.swizzle`, for 16 values at once
// ([`kernels/dequant4bit.wat`](../lib/src/quant/kernels/dequant4bit.wat)). Here both run on 4M values and are timed
// against a plain copy of as many floats. The numbers vary from run to run. What stays fixed is that the two give
// the same bits.

// %% nondeterministic
{
  const { dequantizePacked, dequantizePackedScalar } = await import('loralab/quant');
  const n = 1 << 22;
  const big = quantize4bit(Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 0.05), { blocksize: 64 }).state;
  const outLoop = new Float32Array(n), outSimd = new Float32Array(n), copy = new Float32Array(n), src = new Float32Array(n);
  const time = (f: () => unknown) => { f(); const t0 = performance.now(); for (let i = 0; i < 10; i++) f(); return (performance.now() - t0) / 10; };
  const tCopy = time(() => copy.set(src));
  const tLoop = time(() => dequantizePackedScalar(big.packed, big.absmax!, big.code, 64, n, outLoop));
  const tSimd = time(() => dequantizePacked(big.packed, big.absmax!, big.code, 64, n, outSimd));
  const same = Buffer.from(outLoop.buffer).equals(Buffer.from(outSimd.buffer));
  showTable(['4,194,304 values', 'ms', 'values / s', 'vs a float32 copy'], [
    ['Float32Array copy', tCopy.toFixed(2), (n / tCopy * 1e3).toExponential(2), '1'],
    ['dequantize, JavaScript loop', tLoop.toFixed(2), (n / tLoop * 1e3).toExponential(2), (tCopy / tLoop).toFixed(2)],
    ['dequantize, WebAssembly SIMD', tSimd.toFixed(2), (n / tSimd * 1e3).toExponential(2), (tCopy / tSimd).toFixed(2)],
  ]);
  console.log(`the two dequantized arrays are ${same ? 'identical, bit for bit' : 'DIFFERENT'}`);
}

// %% [markdown]
// ## The speed trade-off: a QLoRA step against a LoRA step
//
// What the dequantization costs in training, measured by the benchmark (`npm run bench -- train-step`: forward,
// backward and AdamW on `gemma-micro`, r = 8 on every linear layer, the median over several steps; the same step in
// PyTorch on the same CPU where it ran):

// %%
const bench = JSON.parse(readFileSync('../bench/results/train-step.json', 'utf8'));
const stepCase = bench.cases[0];
const stepOf = (method: 'lora' | 'qlora', impl: 'loralab' | 'pytorch') => stepCase.runs[method]?.[impl]?.medianStepSeconds as number | undefined;
const fmt = (v: number | undefined) => (v === undefined ? '–' : v.toFixed(3));
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? '–' : (a / b).toFixed(2));
showTable(['implementation', 'LoRA step (s)', 'QLoRA step (s)', 'QLoRA / LoRA'], (['loralab', 'pytorch'] as const).map((impl) => [impl === 'loralab' ? 'LoRA Lab (TF.js)' : 'PyTorch (CPU)', fmt(stepOf('lora', impl)), fmt(stepOf('qlora', impl)), ratio(stepOf('qlora', impl), stepOf('lora', impl))]));
console.log(`${stepCase.model}, batch ${stepCase.settings.batch} × ${stepCase.settings.seq} tokens; ${bench.machine?.cpu ?? ''}`);

// %% [markdown]
// The ratio in the last column is the price of 4-bit storage per step on this machine: each 4-bit layer dequantizes
// its weight in the forward pass and again in the backward pass. The QLoRA paper accepts this trade — slower steps for
// a model that fits at all — and on a GPU the dequantization is fused into the matmul kernel, so the relative cost
// depends on the hardware and the implementation.
//
// %% [markdown]
// ## Paged optimizers
//
// On a GPU, a long sequence in a batch can spike activation memory past what is free and crash the step. QLoRA's
// paged optimizers allocate AdamW's two state tensors in NVIDIA *unified memory*: when the GPU runs short, pages of
// optimizer state are evicted to CPU RAM and paged back when the optimizer step needs them. With LoRA, those states are
// small (two floats per adapter parameter), so paging them costs little time. LoRA Lab runs on the CPU (one memory),
// so it has nothing to page; what it does measure is the size of those states:

// %%
const rowsOpt = [8, 64].map((r) => {
  const b = predictMemory(g2b, { method: 'qlora', r, targetModules: 'all-linear' }).bytes;
  return [`QLoRA r=${r}, all linear layers`, (b.optimizerStates / 2 ** 20).toFixed(1), (b.total / 2 ** 30).toFixed(2)];
});
const fullB = predictMemory(g2b, { method: 'full' }).bytes;
rowsOpt.push(['full fine-tuning', (fullB.optimizerStates / 2 ** 20).toFixed(1), (fullB.total / 2 ** 30).toFixed(2)]);
showTable(['Gemma-2B', 'AdamW states (MiB)', 'predicted total (GiB)'], rowsOpt);

// %% [markdown]
// ## Merging into a 4-bit base
//
// After training, $W \leftarrow W + \gamma BA$ removes the adapter's latency. With a 4-bit base that means
// dequantize, add, and **re-quantize** — and the re-quantization rounds $\Delta W$ away in part, because $\Delta W$ is
// small next to the spacing of the NF4 levels. LoRA Lab's merge reports the error it introduced:

// %%
const merges = [1e-3, 1e-2, 1e-1].map((sc) => {
  const layer = new LoraLinear(Linear4bit.fromWeight(W, outF, inF, { doubleQuant: true }), { r: 8, loraAlpha: 16 });
  layer.loraB.assign(tf.randomNormal([outF, 8], 0, sc, 'float32', 2)); // pretend training moved B
  const report = layer.merge();
  const e = report.requantizationError!;
  layer.dispose();
  return [sc, e.rms.toExponential(2), (100 * e.relativeToDelta).toFixed(1) + ' %'];
});
showTable(['size of B entries', 'RMS error added by re-quantizing', 'error / ‖ΔW‖'], merges);

// %% [markdown]
// For small updates the error re-quantization adds is as large as $\Delta W$ itself: the merged 4-bit model is no
// longer the model you trained. Merging into a 16-bit copy of the base (dequantize once, add, keep bf16) avoids it,
// which is why PEFT users merge into a bf16 model for deployment, and why `loralab merge` writes bf16 (or float32)
// weights rather than re-quantizing.
//
// ## Exercises
//
// - [`exercises/06-nf4-blockwise`](../exercises/06-nf4-blockwise/README.md): implement NF4 blockwise quantization with
//   bitsandbytes' tie rule.
// - [`exercises/06-double-quant-bits`](../exercises/06-double-quant-bits/README.md): compute the bits per parameter of
//   double quantization for any blocksize.
// - Drills for this section: `npm run drill -- --section 6`.
