/** Model commands: logits, merge, params. */
import { existsSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { initBackend } from '../backend/index.js';
import { writeSafetensors } from '../io/index.js';
import { floatTensor } from '../io/floats.js';
import { loadGemma, saveGemma } from '../models/gemma/index.js';
import { QLORA_LOAD_OPTIONS } from '../train/index.js';
import { loadPeftAdapter, methodTable } from '../peft/index.js';
import { progressReporter } from './progress.js';
import { table } from './format.js';
import { UsageError } from './errors.js';
import { choice, MODEL_SHAPES_HELP, modelShapes, num } from './args.js';
import { chooseTargets, targetModulesOption } from './targets.js';

function dirArg(flag: string, v: string | undefined): string {
  if (!v) throw new UsageError(`${flag} is required`);
  if (!existsSync(v)) throw new UsageError(`${flag} ${v}: no such directory`);
  if (!statSync(v).isDirectory()) throw new UsageError(`${flag} ${v}: not a directory`);
  return v;
}

function parseIds(v: string): number[] {
  const ids = v.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (!ids.length || ids.some((n) => !Number.isInteger(n) || n < 0)) throw new UsageError(`--ids must be comma-separated non-negative integers (got '${v}')`);
  return ids;
}

/** `loralab logits`: the logits of given token ids, written as safetensors. */
async function runLogits(o: { model: string; adapter?: string; loadIn4bit: boolean; ids: string; out: string }): Promise<void> {
  const ids = parseIds(o.ids);
  const dir = dirArg('--model', o.model);
  if (o.adapter) dirArg('--adapter', o.adapter);
  await initBackend();
  const progress = progressReporter('load');
  const { model, config } = loadGemma(dir, { ...(o.loadIn4bit ? QLORA_LOAD_OPTIONS : {}), tokenizer: false, onProgress: progress.update });
  progress.stop();
  const bad = ids.find((i) => i >= config.vocabSize);
  if (bad !== undefined) throw new UsageError(`--ids: token id ${bad} is outside the vocabulary (vocab_size ${config.vocabSize})`);
  if (o.adapter) loadPeftAdapter(model, o.adapter);
  const logits = model.logits(ids);
  writeSafetensors(o.out, { logits: floatTensor(logits, [ids.length, config.vocabSize]) }, { format: 'pt' });
  console.log(`wrote logits [${ids.length}, ${config.vocabSize}] to ${o.out}`);
}

/** `loralab merge`: a PEFT adapter merged into its base model, saved as a model folder. */
async function runMerge(o: { model: string; adapter: string; out: string; dtype: string }): Promise<void> {
  const dtype = choice('--dtype', o.dtype, ['bfloat16', 'float32'] as const);
  const dir = dirArg('--model', o.model);
  dirArg('--adapter', o.adapter);
  await initBackend();
  const { model } = loadGemma(dir, { tokenizer: false, dtype: 'float32' });
  const peft = loadPeftAdapter(model, o.adapter);
  const n = peft.loraLayers.size;
  const merged = peft.mergeAndUnload({ safeMerge: true, dtype }).model; // finiteness checked in the saved dtype
  saveGemma(merged, o.out, { dtype, tokenizerFrom: dir });
  console.log(`merged ${n} LoRA layers (r=${peft.config.r}, alpha=${peft.config.loraAlpha}) into ${dir} -> ${o.out} (${dtype})`);
}

/** `loralab params`: total and trainable parameters of each method. */
function runParams(o: { model: string; r: string; targetModules?: string; bottleneck?: string; numVirtualTokens?: string; json: boolean }): void {
  const r = num('--r', o.r, { int: true, min: 1 });
  const cfg = modelShapes(o.model);
  const targets = chooseTargets(cfg, o.targetModules);
  const rows = methodTable(cfg, {
    r,
    targetModules: targets.targets,
    bottleneck: o.bottleneck === undefined ? undefined : num('--bottleneck', o.bottleneck, { int: true, min: 1 }),
    numVirtualTokens: o.numVirtualTokens === undefined ? undefined : num('--num-virtual-tokens', o.numVirtualTokens, { int: true, min: 1 }),
  });
  if (o.json) {
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  const fmt = (n: number) => n.toLocaleString('en-US');
  console.log(`${o.model}: ${cfg.numHiddenLayers} layers, hidden ${cfg.hiddenSize}, ${fmt(rows[0].total)} parameters`);
  console.log(`LoRA ${targets.line}\n`);
  console.log(table(['method', 'setting', 'total', 'trainable', 'trainable %'], rows.map((x) => [x.method, x.detail, fmt(x.total), fmt(x.trainable), x.percent.toFixed(4)]), ['l', 'l', 'r', 'r', 'r']));
}

export function registerModelCommands(program: Command): void {
  program
    .command('logits')
    .description('Write the logits of a Gemma model (optionally with a PEFT adapter) for given token ids')
    .requiredOption('--model <dir>', 'Hugging Face model folder (config.json, model.safetensors, tokenizer.json)')
    .option('--adapter <dir>', 'PEFT LoRA adapter folder (adapter_config.json, adapter_model.safetensors)')
    .option('--load-in-4bit', 'quantize linear layers to NF4 with double quantization and bf16 compute while loading', false)
    .requiredOption('--ids <ids>', 'comma-separated token ids, used as given (no <bos> is added)')
    .requiredOption('--out <file>', 'output .safetensors with one F32 tensor "logits" [number of ids, vocab]')
    .action(async (o: { model: string; adapter?: string; loadIn4bit: boolean; ids: string; out: string }) => runLogits(o));

  program
    .command('merge')
    .description('Merge a PEFT LoRA adapter into its base model and save the result as a Hugging Face folder')
    .requiredOption('--model <dir>', 'base model folder')
    .requiredOption('--adapter <dir>', 'PEFT LoRA adapter folder')
    .requiredOption('--out <dir>', 'output folder (config.json, model.safetensors, tokenizer files)')
    .option('--dtype <dtype>', 'bfloat16 or float32', 'bfloat16')
    .action(async (o: { model: string; adapter: string; out: string; dtype: string }) => runMerge(o));

  program
    .command('params')
    .description('Parameter table (total, trainable, percent) for full fine-tuning, LoRA, bottleneck adapters and prefix tuning')
    .requiredOption('--model <dir|name>', MODEL_SHAPES_HELP)
    .option('--r <n>', 'LoRA rank (also the adapter bottleneck and the prefix length unless given)', '8')
    .addOption(targetModulesOption())
    .option('--bottleneck <n>', 'adapter bottleneck width (default: r)')
    .option('--num-virtual-tokens <n>', 'prefix length (default: r)')
    .option('--json', 'print JSON', false)
    .action((o: { model: string; r: string; targetModules?: string; bottleneck?: string; numVirtualTokens?: string; json: boolean }) => runParams(o));
}
