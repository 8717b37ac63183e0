// %% [markdown]
// # 2 · Resource bottlenecks: training, inference, serving
//
// The same model needs very different amounts of memory depending on what you do with it:
//
// - **inference** holds the weights and a KV cache;
// - **training** also holds a gradient and optimizer state for every *trainable* weight, and the activations of the
//   forward pass for backpropagation;
// - **serving** many fine-tuned variants multiplies whatever is specific to each variant.
//
// This notebook puts numbers on each, from LoRA Lab's memory model (`predictMemory`, the `loralab memory` command).

// %%
import { namedConfig } from 'loralab/peft';
import { predictMemory } from 'loralab/memory';
import { barChart, lineChart, show, showTable } from 'loralab/viz';
import { readFileSync } from 'node:fs';
const GB = 1e9;

// %% [markdown]
// ## Where the bytes go, per method
//
// LLaMA-7B, sequence 512, batch 1. Full fine-tuning; LoRA ($r = 8$ on q, k, v, o; bf16 base, float32 adapter as
// PEFT keeps it); QLoRA (NF4 base with double quantization, gradient checkpointing as the paper uses).

// %%
const llama = namedConfig('llama-7b')!;
const methods = [
  { name: 'full', m: predictMemory(llama, { method: 'full' }).bytes },
  { name: 'LoRA r=8', m: predictMemory(llama, { method: 'lora', r: 8, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] }).bytes },
  { name: 'QLoRA r=8', m: predictMemory(llama, { method: 'qlora', r: 8, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] }).bytes },
];
const parts = ['weights', 'quantizationConstants', 'adapters', 'gradients', 'optimizerStates', 'activations'] as const;
const label = { weights: 'weights', quantizationConstants: 'quantization constants', adapters: 'adapters', gradients: 'gradients', optimizerStates: 'optimizer states', activations: 'activations' };
show(barChart({ title: 'LLaMA-7B training memory by component', x: 'method', y: 'GB', categories: methods.map((x) => x.name), stacked: true,
  series: parts.map((p) => ({ name: label[p], values: methods.map((x) => x.m[p] / GB) })) }));
showTable(['method', ...parts.map((p) => `${label[p]} (GB)`), 'total (GB)'], methods.map((x) => [x.name, ...parts.map((p) => (x.m[p] / GB).toFixed(2)), (x.m.total / GB).toFixed(1)]));

// %% [markdown]
// Look at the gradient and optimizer bars: for full fine-tuning they are five times the weights; with LoRA they
// nearly vanish, because only the adapter (about 0.3 % of the parameters) has gradients and AdamW moments. What
// remains is the frozen base — which QLoRA then shrinks fourfold — and the activations.
//
// ## Activations grow with the sequence
//
// Activations are the one part that grows with batch and sequence length, and gradient checkpointing trades compute
// for them (keep only each layer's input, recompute the rest during the backward pass):

// %%
const seqs = [128, 256, 512, 1024, 2048, 4096];
show(lineChart({ title: 'QLoRA r=8 on LLaMA-7B: total memory vs sequence length', x: { title: 'sequence length (tokens)', log: true }, y: 'GB',
  series: [false, true].map((ck) => ({ name: ck ? 'gradient checkpointing' : 'no checkpointing', x: seqs, y: seqs.map((s) => predictMemory(llama, { method: 'qlora', r: 8, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'], seqLen: s, gradientCheckpointing: ck }).bytes.total / GB), mode: 'lines+markers' as const })) }));

// %% [markdown]
// ## Inference: weights and the KV cache
//
// Generating text needs the weights and, for every token in the context, a key and a value vector per layer:
// $2 \cdot L \cdot n_{kv} \cdot d_{head}$ values per token. LLaMA-7B has 32 heads of 128 for keys and values; Gemma-2B
// uses multi-query attention (a single KV head of 256), so its cache per token is 28 times smaller; LLaMA-70B shares
// 8 KV heads among 64 query heads (grouped-query attention):

// %%
const kvPerToken = (n: string) => { const c = namedConfig(n)!; return 2 * c.numHiddenLayers * c.numKeyValueHeads * c.headDim * 2; }; // bf16
const infRows = ['gemma-2b', 'llama-7b', 'llama-70b'].map((n) => {
  const w = predictMemory(namedConfig(n)!, { method: 'full' }).bytes.weights;
  return [n, (w / GB).toFixed(1), (kvPerToken(n) / 1024).toFixed(0), ((kvPerToken(n) * 4096 * 8) / GB).toFixed(1)];
});
showTable(['model', 'bf16 weights (GB)', 'KV cache per token (KiB)', 'KV cache, 8 sequences × 4096 tokens (GB)'], infRows);

// %% [markdown]
// ## Serving many fine-tuned models
//
// Suppose 50 customers each need their own fine-tuned LLaMA-7B. With full fine-tuning each is a separate 13.5 GB
// model: 50 of them do not fit on any single machine, and switching between them means loading gigabytes. With LoRA,
// one base model stays in memory and each customer is an adapter of a few megabytes, swapped or even batched together
// per request:

// %%
const base = predictMemory(llama, { method: 'full' }).bytes.weights;
const adapter = 2 * predictMemory(llama, { method: 'lora', r: 8, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] }).parameters.adapters; // bf16 adapter
const tasks = [1, 2, 5, 10, 20, 50, 100];
show(lineChart({ title: 'Memory to serve N fine-tuned variants of LLaMA-7B', x: { title: 'number of fine-tuned variants N', log: true }, y: { title: 'GB', log: true },
  series: [{ name: 'N full copies', x: tasks, y: tasks.map((n) => (n * base) / GB), mode: 'lines+markers' }, { name: 'one base + N LoRA adapters (r=8)', x: tasks, y: tasks.map((n) => (base + n * adapter) / GB), mode: 'lines+markers' }] }));
console.log(`one adapter: ${(adapter / 2 ** 20).toFixed(1)} MiB; 100 adapters add ${((100 * adapter) / GB).toFixed(2)} GB to a ${(base / GB).toFixed(1)} GB base`);

// %% [markdown]
// ## Measured, not only predicted
//
// LoRA Lab ran one QLoRA training step of a full-size Gemma-2B (random weights with the real shapes, 5 GB checkpoint)
// on a 2-core CPU with 24 GiB (`npm run bench -- gemma2b-step`). The committed result:

// %%
const step = JSON.parse(readFileSync('../bench/results/gemma2b-step.json', 'utf8'));
console.log(`${step.what}\nmachine: ${step.machine.cpu}, ${step.machine.cores} cores, ${step.machine.memoryGiB} GiB, ${step.machine.date}`);
showTable(['quantity', 'value'], [
  ['load + quantize to NF4 (s)', step.measured.loadSeconds.toFixed(0)],
  ['one training step (s)', step.measured.stepSeconds.toFixed(0)],
  ['trainable parameters', step.measured.trainableParameters],
  ['peak resident memory, measured (GB)', (step.measured.peakRssBytes / GB).toFixed(2)],
  ['predicted by predictMemory (GB)', (step.predicted.total / GB).toFixed(2)],
  ['predicted / measured', step.ratios.predictedToMeasuredPeak.toFixed(3)],
  ['full fine-tuning, predicted (GB)', (step.predictedFullFineTuning.total / GB).toFixed(1)],
  ['full fine-tuning / this machine\'s memory', step.ratios.fullFineTuningToMachineMemory.toFixed(2)],
]);

// %% [markdown]
// The prediction comes within a few percent of the measured peak, and full fine-tuning of the same model is predicted
// at about 40 GB — it would not fit this machine at all. Of the peak, 2.07 GB are the 4-bit weights and the bf16
// embedding; the rest is activations, one 16 MB piece of dequantized weight at a time, and TF.js's heap.
//
// ## Exercises
//
// - [`exercises/02-memory-breakdown`](../exercises/02-memory-breakdown/README.md): compute each component of training
//   memory for a given method.
// - [`exercises/02-kv-cache`](../exercises/02-kv-cache/README.md): size the KV cache for serving.
// - Drills for this section: `npm run drill -- --section 2`.
