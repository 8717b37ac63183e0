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
// LLaMA-7B, sequence 512, batch 1. Full fine-tuning (mixed precision: bf16 weights and gradients, float32 master
// weights, AdamW); LoRA ($r = 8$ on q, k, v, o; bf16 base, float32 adapter as PEFT keeps it); QLoRA (NF4 base with
// double quantization). The QLoRA paper trains with gradient checkpointing, and LoRA can use it just as well, so each
// method is shown both ways: otherwise quantization would be credited with what checkpointing saves.

// %%
const llama = namedConfig('llama-7b')!;
const qkvo = ['q_proj', 'k_proj', 'v_proj', 'o_proj'];
const methods = (['full', 'lora', 'qlora'] as const).flatMap((method) => [false, true].map((ck) => ({
  name: `${method === 'full' ? 'full' : method === 'lora' ? 'LoRA r=8' : 'QLoRA r=8'}${ck ? ', checkpointing' : ''}`,
  m: predictMemory(llama, { method, r: 8, targetModules: method === 'full' ? undefined : qkvo, gradientCheckpointing: ck }).bytes,
})));
const parts = ['weights', 'masterWeights', 'quantizationConstants', 'adapters', 'gradients', 'optimizerStates', 'activations'] as const;
const label = { weights: 'weights', masterWeights: 'float32 master weights', quantizationConstants: 'quantization constants', adapters: 'adapters', gradients: 'gradients', optimizerStates: 'optimizer states', activations: 'activations' };
show(barChart({ title: 'LLaMA-7B training memory by component, with and without gradient checkpointing (seq 512)', x: 'method', y: 'GB', categories: methods.map((x) => x.name), stacked: true,
  series: parts.map((p) => ({ name: label[p], values: methods.map((x) => x.m[p] / GB) })) }));
showTable(['method', ...parts.map((p) => `${label[p]} (GB)`), 'total (GB)'], methods.map((x) => [x.name, ...parts.map((p) => (x.m[p] / GB).toFixed(2)), (x.m.total / GB).toFixed(1)]));
const full = methods[0].m, loraCk = methods[3].m, qloraCk = methods[5].m, loraNo = methods[2].m;
const adapterParams = predictMemory(llama, { method: 'lora', r: 8, targetModules: qkvo }).parameters;
console.log(`full fine-tuning: gradients, master weights and AdamW states are ${((full.gradients + full.masterWeights + full.optimizerStates) / full.weights).toFixed(0)}× the bf16 weights`);
console.log(`the LoRA adapter: ${adapterParams.adapters.toLocaleString('en-US')} parameters, ${((100 * adapterParams.adapters) / adapterParams.total).toFixed(2)} % of the model`);
console.log(`checkpointing saves LoRA ${((loraNo.total - loraCk.total) / GB).toFixed(2)} GB; with checkpointing on both, 4-bit storage saves a further ${((loraCk.total - qloraCk.total) / GB).toFixed(2)} GB`);

// %% [markdown]
// Look at the gradient and optimizer bars: for full fine-tuning they, with the master copy, dwarf the weights (the
// first line above); with LoRA they nearly vanish, because only the adapter (the second line) has gradients and AdamW
// moments. What remains is the frozen base — which QLoRA stores in 4 bits per linear weight (embeddings stay bf16) —
// and the activations, which
// gradient checkpointing shrinks for either method. Compare LoRA and QLoRA *both with checkpointing* to see what
// quantization itself buys (the third line).
//
// ## Activations grow with the sequence
//
// Activations are the one part that grows with batch and sequence length, and gradient checkpointing trades compute
// for them (keep only each layer's input, recompute the rest during the backward pass):

// %%
const seqs = [128, 256, 512, 1024, 2048, 4096];
show(lineChart({ title: 'QLoRA r=8 on LLaMA-7B: total memory vs sequence length', x: { title: 'sequence length (tokens)', log: true }, y: 'GB',
  series: [false, true].map((ck) => ({ name: ck ? 'gradient checkpointing' : 'no checkpointing', x: seqs, y: seqs.map((s) => predictMemory(llama, { method: 'qlora', r: 8, targetModules: qkvo, seqLen: s, gradientCheckpointing: ck }).bytes.total / GB), mode: 'lines+markers' as const })) }));

// %% [markdown]
// ## Inference: weights and the KV cache
//
// Generating text needs the weights and, for every token in the context, a key and a value vector per layer:
// $2 \cdot L \cdot n_{kv} \cdot d_{head}$ values per token. LLaMA-7B has 32 heads of 128 for keys and values; Gemma-2B
// uses multi-query attention (a single KV head of 256), so its cache per token is many times smaller (the last
// column); LLaMA-70B shares 8 KV heads among 64 query heads (grouped-query attention):

// %%
const kvPerToken = (n: string) => { const c = namedConfig(n)!; return 2 * c.numHiddenLayers * c.numKeyValueHeads * c.headDim * 2; }; // bf16
const infRows = ['gemma-2b', 'llama-7b', 'llama-70b'].map((n) => {
  const w = predictMemory(namedConfig(n)!, { method: 'full' }).bytes.weights;
  return [n, (w / GB).toFixed(1), (kvPerToken(n) / 1024).toFixed(0), ((kvPerToken(n) * 4096 * 8) / GB).toFixed(1), `${(kvPerToken('llama-7b') / kvPerToken(n)).toFixed(1)}×`];
});
showTable(['model', 'bf16 weights (GB)', 'KV cache per token (KiB)', 'KV cache, 8 sequences × 4096 tokens (GB)', 'LLaMA-7B\'s cache per token / this one\'s'], infRows);

// %% [markdown]
// ## Decode latency: bytes read per token
//
// A chatbot generates one token at a time. At batch 1 every weight is read from memory once per token while the
// arithmetic (2 FLOPs per weight) is tiny, so decoding is **memory-bandwidth-bound**: the time per token is at least
// (bytes of weights + bytes of KV cache read) / memory bandwidth. That is why 4-bit weights speed up decoding on a GPU
// even though each weight must be dequantized: a quarter of the bytes cross the memory bus. An unmerged LoRA adds its
// own (small) bytes and two extra small multiplies per adapted layer; merged, it adds nothing. The bound below uses the
// GPUs' published bandwidths and a 1,024-token context:

// %%
const bandwidth = [['RTX 4090 (1.01 TB/s)', 1.008e12], ['A100 80GB (2.0 TB/s)', 2.039e12], ['H100 SXM (3.35 TB/s)', 3.35e12]] as const; // vendors' data sheets
const ctx = 1024;
const weightsBf16 = predictMemory(llama, { method: 'full' }).bytes.weights;
const q4 = predictMemory(llama, { method: 'qlora', r: 8, targetModules: qkvo }).bytes;
const adapterBytes = 2 * adapterParams.adapters; // bf16
const perToken = [
  ['bf16 weights (LoRA merged)', weightsBf16],
  ['bf16 base + unmerged LoRA adapter', weightsBf16 + adapterBytes],
  ['NF4 + double quantization (QLoRA base)', q4.weights + q4.quantizationConstants],
] as [string, number][];
const kv = kvPerToken('llama-7b') * ctx;
showTable(['LLaMA-7B, batch 1, 1,024-token context', 'bytes read per token (GB)', ...bandwidth.map(([n]) => `≥ ms/token, ${n}`)],
  perToken.map(([n, w]) => [n, ((w + kv) / GB).toFixed(2), ...bandwidth.map(([, bw]) => ((1e3 * (w + kv)) / bw).toFixed(2))]));

// %% [markdown]
// ## Serving many fine-tuned models
//
// Suppose 50 customers each need their own fine-tuned LLaMA-7B. With full fine-tuning each is a separate full-size bf16
// model (the first row above): 50 of them do not fit on any single machine, and switching between them means loading
// gigabytes. With LoRA, one base model stays in memory and each customer is an adapter of a few megabytes, swapped or
// even batched together per request (one read of the base serves every adapter in the batch):

// %%
const base = weightsBf16;
const adapter = adapterBytes;
const tasks = [1, 2, 5, 10, 20, 50, 100];
show(lineChart({ title: 'Memory to serve N fine-tuned variants of LLaMA-7B', x: { title: 'number of fine-tuned variants N', log: true }, y: { title: 'GB', log: true },
  series: [{ name: 'N merged full copies', x: tasks, y: tasks.map((n) => (n * base) / GB), mode: 'lines+markers' }, { name: 'one base + N LoRA adapters (r=8)', x: tasks, y: tasks.map((n) => (base + n * adapter) / GB), mode: 'lines+markers' }] }));
showTable(['N variants', 'memory, N merged copies (GB)', 'memory, one base + N adapters (GB)', 'bytes read per decode step, one request per variant: merged (GB)', 'base + N adapters (GB)'],
  [1, 10, 50].map((n) => [n, ((n * base) / GB).toFixed(1), ((base + n * adapter) / GB).toFixed(2), ((n * base) / GB).toFixed(1), ((base + n * adapter) / GB).toFixed(2)]));
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
  ['of which 4-bit weights and bf16 embedding, predicted (GB)', (step.predicted.weights / GB).toFixed(2)],
  ['predicted / measured', step.ratios.predictedToMeasuredPeak.toFixed(3)],
  ['full fine-tuning, predicted (GB)', (step.predictedFullFineTuning.total / GB).toFixed(1)],
  ['full fine-tuning / this machine\'s memory', step.ratios.fullFineTuningToMachineMemory.toFixed(2)],
]);

// %% [markdown]
// The prediction comes within a few percent of the measured peak, and full fine-tuning of the same model (float32 on
// this CPU) would not fit this machine at all (the last row). Of the peak, the 4-bit weights and the bf16 embedding are
// the largest part (`predicted.weights` in the result); the rest is activations, one piece of dequantized weight at a
// time, and TF.js's heap.
//
// ## Exercises
//
// - [`exercises/02-memory-breakdown`](../exercises/02-memory-breakdown/README.md): compute each component of training
//   memory for a given method.
// - [`exercises/02-kv-cache`](../exercises/02-kv-cache/README.md): size the KV cache for serving.
// - Drills for this section: `npm run drill -- --section 2`.
