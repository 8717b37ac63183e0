// %% [markdown]
// # 7 · Practice: QLoRA fine-tuning, end to end
//
// The brief's configuration, as a practitioner writes it with Hugging Face (Python: `transformers`, `peft`,
// `bitsandbytes`), and the same steps in LoRA Lab (TypeScript), line for line. The names are the same on purpose.
//
// | step | Hugging Face (Python) | LoRA Lab (TypeScript) |
// | --- | --- | --- |
// | 4-bit config | `bnb = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=torch.bfloat16)` | `const bnb = { loadIn4bit: true, bnb4bitQuantType: 'nf4', bnb4bitUseDoubleQuant: true, bnb4bitComputeDtype: 'bfloat16' }` |
// | load the base | `model = AutoModelForCausalLM.from_pretrained(dir, quantization_config=bnb)` | `const { model, tokenizer } = loadGemma(dir, bnb)` |
// | prepare for k-bit training | `model = prepare_model_for_kbit_training(model)` (freezes the base, casts norms to float32, enables gradient checkpointing) | `model.model.gradientCheckpointing = true` (the base is already frozen by `getPeftModel`; norms are float32 in TF.js) |
// | LoRA config | `cfg = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.05, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"], task_type="CAUSAL_LM")` | `const cfg = { r: 8, loraAlpha: 16, loraDropout: 0.05, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'], taskType: 'CAUSAL_LM' }` |
// | wrap | `model = get_peft_model(model, cfg); model.print_trainable_parameters()` | `const peft = getPeftModel(model, cfg); peft.trainableParametersLine()` |
// | data | tokenize prompt + answer, labels −100 on the prompt (or `DataCollatorForCompletionOnlyLM`) | `buildExample(tok, SQL_TEMPLATE, row, { maxLength, eosId })` |
// | train | `Trainer(model, TrainingArguments(learning_rate=5e-3, per_device_train_batch_size=8, max_steps=60, warmup_steps=10, bf16=True), train_dataset=…).train()` | `new Trainer(model, trainable, train, valid, { lr: 5e-3, batchSize: 8, steps: 60, warmupSteps: 10 }, padId).run()` |
// | save the adapter | `model.save_pretrained(out)` | `peft.saveAdapter(out)` |
// | merge for serving | `base = AutoModelForCausalLM.from_pretrained(dir, torch_dtype=torch.bfloat16); PeftModel.from_pretrained(base, out).merge_and_unload()` | `loadPeftAdapter(loadGemma(dir, { dtype: 'bfloat16' }).model, out).mergeAndUnload()` |
//
// **What `task_type` changes.** In PEFT, `task_type="CAUSAL_LM"` picks the wrapper class (`PeftModelForCausalLM`):
// how `forward` and `generate` pass inputs and labels through, and it is written into `adapter_config.json` so that the
// adapter is re-loaded into the right wrapper. It does not change the rank, the targets or the maths of the layers. For
// prefix tuning it also matters for where the virtual tokens go. LoRA Lab has one kind of model (a causal LM), so
// `taskType` is checked and saved, and nothing else.
//
// **Adapting the recipe to your data — a checklist.**
// - *Prompt template*: one fixed format for every example (`Question: … SQL:` here), the same at training and at
//   inference; for chat models, the model's own chat template.
// - *EOS*: append the end-of-sequence token to every answer, or the model never learns to stop.
// - *Label masking*: loss on the answer only (labels −100 / `IGNORE_INDEX` over the prompt), unless the prompt is text
//   you also want the model to learn.
// - *Length*: look at the token-length distribution and set `max_length` above nearly all examples; truncation
//   silently cuts answers.
// - *Padding*: a pad token (Gemma has one; LLaMA does not: set `pad_token = eos_token`), attention mask zero over the
//   padding, labels −100 there; right padding for training, left padding for batched generation.
//
// **GPUs without bf16** (before NVIDIA Ampere: V100, T4): use `bnb_4bit_compute_dtype=torch.float16` and fp16 mixed
// precision (`fp16=True`, with loss scaling) instead of bf16. fp16 has more mantissa but overflows above 65,504, so
// keep the LoRA weights and the optimizer in float32 and watch for NaN losses.
//
// **Which model?** These cells fine-tune Gemma-2B when the environment variable `GEMMA_2B_DIR` points at a downloaded
// Hugging Face checkpoint folder (`config.json`, `model*.safetensors`, `tokenizer.json`). Without it — as on the
// machines that build this site — they run on `gemma-micro`, which has Gemma's exact architecture at 4 million
// parameters, and the last section shows what changes at 2 billion.

// %%
import { loadGemma } from 'loralab/models/gemma';
import { getPeftModel, loadPeftAdapter, namedConfig } from 'loralab/peft';
import { Trainer, readJsonl, buildExample, generateBatch, SQL_TEMPLATE } from 'loralab/train';
import { SqlDatabase, gradeSql } from 'loralab/sql';
import { Linear4bit } from 'loralab/layers';
import { bitsPerParameter } from 'loralab/quant';
import { predictMemory } from 'loralab/memory';
import { initBackend } from 'loralab/backend';
import { lineChart, show, showTable } from 'loralab/viz';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
const backend = await initBackend();
const GEMMA_2B = process.env.GEMMA_2B_DIR;
const dir = GEMMA_2B ?? '../datasets/models/gemma-micro';
console.log(GEMMA_2B ? `GEMMA_2B_DIR is set: fine-tuning Gemma-2B from ${GEMMA_2B}` : 'GEMMA_2B_DIR is not set: running on gemma-micro (same architecture, 4M parameters)');

// %% [markdown]
// ## Load the base in 4 bits
//
// Every linear layer is quantized to NF4 with double quantization while the checkpoint streams in; embeddings and
// norms stay dense. The 4-bit layers dequantize to bf16 for each matrix multiply.

// %%
const { model, tokenizer, config } = loadGemma(dir, { loadIn4bit: true, bnb4bitQuantType: 'nf4', bnb4bitUseDoubleQuant: true, bnb4bitComputeDtype: 'bfloat16' });
const tok = tokenizer!;
const q4 = [...model.namedModules()].filter(([, m]) => m instanceof Linear4bit) as [string, Linear4bit][];
const n4 = q4.reduce((s, [, m]) => s + m.inFeatures * m.outFeatures, 0);
const bits = bitsPerParameter(q4[0][1].state);
console.log(`${q4.length} linear layers in NF4: ${n4.toLocaleString('en-US')} weights at ${bits.total.toFixed(3)} bits each = ${((n4 * bits.total) / 8 / 2 ** 20).toFixed(2)} MiB (bf16 would be ${((n4 * 2) / 2 ** 20).toFixed(2)} MiB)`);

// %% [markdown]
// ## Add LoRA to the attention projections
//
// `getPeftModel` wraps each targeted layer in a `LoraLinear` ($B = 0$, so the model's outputs do not change yet) and
// freezes everything else.

// %%
const peft = getPeftModel(model, { r: 8, loraAlpha: 16, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'], loraDropout: 0.05, taskType: 'CAUSAL_LM' });
console.log(peft.trainableParametersLine());
console.log([...model.namedModules()].filter(([n]) => n.startsWith('model.layers.0.self_attn.q_proj')).map(([n, m]) => `${n}: ${m.constructor.name}`).join('\n'));

// %% [markdown]
// ## Fine-tune on the text-to-SQL task
//
// Prompt tokens are masked out of the loss (the model learns to write the SQL, not the question). AdamW, warmup then
// a constant learning rate, gradient clipping. A progress line reports every 10 steps. A CPU step on Gemma-2B takes
// minutes (the committed benchmark's time is printed below), so with `GEMMA_2B_DIR` these cells run just 2 steps with
// gradient checkpointing to show that the same code carries it — a real Gemma-2B run belongs on a GPU or on
// `loralab train` left running overnight.

// %%
const steps = GEMMA_2B ? 2 : 60;
model.model.gradientCheckpointing = Boolean(GEMMA_2B);
const data = (file: string, n: number) => readJsonl(`../datasets/sql/${file}`, ['question', 'sql']).slice(0, n);
const ex = (rs: Record<'question' | 'sql', string>[]) => rs.map((r) => buildExample(tok, SQL_TEMPLATE, r, { maxLength: 128, eosId: config.eosTokenId }));
const outDir = mkdtempSync(join(tmpdir(), 'loralab-nb07-'));
const trainer = new Trainer(model, { params: new Map(peft.trainableVariables().map((v) => [v.name, v])), save: (d) => peft.saveAdapter(d), load: () => {} },
  ex(data('train.jsonl', 5161)), ex(data('valid.jsonl', 32)), { steps, lr: 5e-3, batchSize: 8, warmupSteps: Math.min(10, steps - 1), maxGradNorm: 1, seed: 0, evalEvery: steps, outDir }, config.padTokenId);
const records = trainer.run({ onStep: (m) => { if (m.step % 10 === 0 || m.step === steps) console.error(`step ${m.step}/${steps} loss ${m.loss.toFixed(3)} · ${m.tokensPerSecond.toFixed(0)} tokens/s`); } });
show(lineChart({ title: `QLoRA fine-tuning (r = 8, q/k/v/o) of ${GEMMA_2B ? 'Gemma-2B' : 'gemma-micro'}`, x: 'step', y: 'training loss (SQL tokens)', series: [{ name: 'loss', x: records.map((m) => m.step), y: records.map((m) => m.loss) }] }));
console.log(`validation loss after ${steps} steps: ${records.at(-1)!.evalLoss!.toFixed(4)}`);
console.error(`${steps} steps took ${records.at(-1)!.elapsedSeconds.toFixed(0)} s here`); // a timing: on stderr, which the notebook tests do not compare
const step2b = JSON.parse(readFileSync('../bench/results/gemma2b-step.json', 'utf8'));
console.log(`one QLoRA step of Gemma-2B on this kind of CPU (committed benchmark): ${step2b.measured.stepSeconds.toFixed(0)} s = ${(step2b.measured.stepSeconds / 60).toFixed(1)} min`);

// %% [markdown]
// ## Generate and grade
//
// Greedy decoding of a few test questions, run in SQLite against the gold query. (Sixty steps on the attention
// projections is a short run; notebook 8 shows what 500 steps on all linear layers reach on the full test set.)

// %%
const test = data('test.jsonl', 8);
const outs = generateBatch(model, test.map((r) => tok.encode(SQL_TEMPLATE.prompt(r))), { maxNewTokens: 64 });
const items = test.map((r, i) => ({ question: r.question, gold: r.sql, predicted: tok.decode(outs[i], { skipSpecialTokens: true }).trim() }));
const db = await SqlDatabase.open('../datasets/sql');
const rep = await gradeSql(db, items);
db.close();
showTable(['question', 'generated SQL', 'same result as gold'], rep.examples.map((e) => [e.question, `\`${e.predicted.replace(/\|/g, '\\|')}\``, e.executionMatch ? 'yes' : e.error ? `no (${e.error.slice(0, 40)})` : 'no']));

// %% [markdown]
// ## Save the adapter in PEFT's format
//
// `saveAdapter` writes `adapter_config.json` (keys sorted, as PEFT writes it) and `adapter_model.safetensors` with
// PEFT's tensor names. The folder loads in Python with `PeftModel.from_pretrained(base, dir)`, and back here with
// `loadPeftAdapter` or `npx loralab generate --adapter DIR`.

// %%
const adapterDir = join(outDir, 'adapter');
peft.saveAdapter(adapterDir);
showTable(['file', 'bytes'], readdirSync(adapterDir).map((f) => [f, statSync(join(adapterDir, f)).size]));
const cfg = JSON.parse(readFileSync(join(adapterDir, 'adapter_config.json'), 'utf8'));
console.log(JSON.stringify({ r: cfg.r, lora_alpha: cfg.lora_alpha, target_modules: cfg.target_modules, task_type: cfg.task_type, peft_type: cfg.peft_type, base_model_name_or_path: cfg.base_model_name_or_path }, null, 1));

// %% [markdown]
// ## Merge into a 16-bit copy
//
// Merging folds $\gamma BA$ into the base weight so inference pays nothing for the adapter. Notebook 6 measured why
// not to merge into the 4-bit base: re-quantizing rounds away much of $\Delta W$. So do what the PEFT workflow does for
// deployment: load the base again in bf16, load the saved adapter into it, and merge there. The logits of the
// trained model (4-bit base + adapter) and of the merged bf16 model should nearly agree:

// %%
const ids = tok.encode(SQL_TEMPLATE.prompt(test[0]));
const trained = model.logits(ids);
const { model: base16 } = loadGemma(dir, { dtype: 'bfloat16' });
const merged16 = loadPeftAdapter(base16, adapterDir).mergeAndUnload({ dtype: 'bfloat16' }).model;
const after16 = merged16.logits(ids);
const maxAbs = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
const lastArgmax = (l: Float32Array) => tf.argMax(tf.tensor(l.slice(-config.vocabSize))).dataSync()[0];
// for contrast, what notebook 6 advises against: merge into the 4-bit base, which re-quantizes
const { reports } = peft.mergeAndUnload();
const after4 = model.logits(ids);
const worst = Math.max(...[...reports.values()].map((r) => r.requantizationError?.relativeToDelta ?? 0));
showTable(['merged into', 'max |Δ logit| vs the trained model', 'same next token'], [
  ['a bf16 copy of the base (recommended)', maxAbs(trained, after16).toFixed(4), lastArgmax(trained) === lastArgmax(after16) ? 'yes' : 'no'],
  [`the 4-bit base, re-quantized (error up to ${(100 * worst).toFixed(0)} % of ΔW)`, maxAbs(trained, after4).toFixed(4), lastArgmax(trained) === lastArgmax(after4) ? 'yes' : 'no'],
]);

// %% [markdown]
// ## What changes at Gemma-2B scale
//
// The code above is the code that runs Gemma-2B; the sizes change. From LoRA Lab's memory model and the committed
// Gemma-2B benchmark (`npm run bench -- gemma2b-step`, one real QLoRA step on Gemma-2B shapes on this kind of CPU):

// %% nondeterministic
const g = predictMemory(namedConfig('gemma-2b')!, { method: 'qlora', r: 8, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'], seqLen: 512, gradientCheckpointing: true, runtime: 'pytorch' });
const micro = predictMemory(config, { method: 'qlora', r: 8, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'], seqLen: 128, runtime: 'loralab' });
const step = JSON.parse(readFileSync('../bench/results/gemma2b-step.json', 'utf8'));
showTable(['', 'gemma-micro (this notebook)', 'Gemma-2B'], [
  ['parameters', micro.parameters.total, g.parameters.total],
  ['LoRA r=8 q,k,v,o parameters', micro.parameters.adapters, g.parameters.adapters],
  ['4-bit weights + constants (MB)', ((micro.bytes.weights + micro.bytes.quantizationConstants) / 1e6).toFixed(1), ((g.bytes.weights + g.bytes.quantizationConstants) / 1e6).toFixed(0)],
  ['QLoRA training memory on a GPU, seq 512 (GB)', '–', (g.bytes.total / 1e9).toFixed(2)],
  ['one QLoRA step on this CPU, seq 128 (s)', (records.at(-1)!.elapsedSeconds / steps).toFixed(2), step.measured.stepSeconds.toFixed(0)],
  ['peak memory of that step (GB)', '–', (step.measured.peakRssBytes / 1e9).toFixed(2)],
]);

// %% [markdown]
// Gemma-2B's QLoRA step fits in a few GB (the table's peak) and would fit a free-tier GPU; on this CPU it takes
// minutes per step, which is why this notebook runs the micro model. Nothing else changes: the same `loadGemma`, `getPeftModel`,
// `Trainer`, `saveAdapter` and `mergeAndUnload`.
//
// ## Exercises
//
// - [`exercises/07-qlora-config`](../exercises/07-qlora-config/README.md): write the configuration for a memory
//   budget.
// - [`exercises/07-merge-adapter`](../exercises/07-merge-adapter/README.md): merge an adapter into a base weight and
//   check it against the unmerged forward pass.
// - Drills for this section: `npm run drill -- --section 7`.
