/** The table of bytes by component, both accountings of full fine-tuning when there are two, and where it fits. */
function printMemory(m: MemoryBreakdown, o: { model: string; method: MemoryMethod; precision: FullPrecision; r: number; runtime: Runtime; targetsLine?: string; accountings: { precision: FullPrecision; label: string; total: number }[] | null }): void {
  const { method, precision, r, runtime, accountings } = o;
  const b = m.bytes;
  const rows: [string, number][] = [
    ['weights', b.weights], ...(b.masterWeights ? [['master weights (float32)', b.masterWeights] as [string, number]] : []), ['quantization constants', b.quantizationConstants], ['adapters', b.adapters], ['gradients', b.gradients],
    ['optimizer states', b.optimizerStates], ['activations', b.activations], ['overhead', b.overhead], ['total', b.total],
  ];
  console.log(`${o.model}, ${method}${accountings ? ` (${precision})` : ''}${method !== 'full' ? ` (r=${r}, ${m.parameters.adapters.toLocaleString('en-US')} adapter parameters)` : ''}, ${runtime} runtime: ${(m.parameters.total / 1e9).toFixed(2)}B parameters`);
  if (o.targetsLine) console.log(`LoRA ${o.targetsLine}`);
  console.log('');
  console.log(table(['component', 'bytes', 'GB (10^9 B)', 'GiB (2^30 B)'], rows.map(([k, v]) => [k, Math.round(v).toLocaleString('en-US'), (v / GB).toFixed(2), (v / GiB).toFixed(2)]), ['l', 'r', 'r', 'r']));
  if (accountings) {
    console.log('\nfull fine-tuning, both accountings (--precision):');
    for (const a of accountings) console.log(`  ${a.precision === precision ? '*' : ' '} ${a.precision}: ${(a.total / GB).toFixed(2)} GB total — ${a.label}`);
  }
  console.log(`\n${fitsLine(b.total, runtime)}`);
}

/** `loralab memory`: predicted bytes by component for full fine-tuning, LoRA and QLoRA, and where the total fits. */
import { totalmem } from 'node:os';
import type { Command } from 'commander';
import { FULL_PRECISION_LABEL, predictMemory, type FullPrecision, type MemoryMethod, type MemoryBreakdown, type Runtime } from '../memory/index.js';
import { table } from './format.js';
import { choice, MODEL_SHAPES_HELP, modelShapes, num } from './args.js';
import { chooseTargets, targetModulesOption } from './targets.js';

const GB = 1e9;
const GiB = 2 ** 30;
/** GPU memory sizes people train on (consumer 24 GB, workstation 48 GB, datacenter 80 GB). */
const GPU_GB = [24, 48, 80];

/**
 * Which device the prediction is for: the pytorch runtime's arithmetic is a GPU's (mixed precision, bitsandbytes),
 * the loralab runtime runs here, on the CPU, in this machine's RAM.
 */
function fitsLine(total: number, runtime: Runtime): string {
  const yes = (cap: number) => (total <= cap ? 'yes' : 'no');
  if (runtime === 'pytorch') {
    const gpus = GPU_GB.map((g, i) => `${i ? 'on ' : 'fits on '}${g === 80 ? 'an' : 'a'} ${g} GB GPU: ${yes(g * GB)}`);
    return `${gpus.join('; ')} (one GPU's memory, PyTorch; --runtime loralab for this machine)`;
  }
  const ram = totalmem();
  return `fits in this machine's RAM (${(ram / GiB).toFixed(1)} GiB): ${yes(ram)} (LoRA Lab on the CPU; --runtime pytorch for GPUs)`;
}

/** `loralab memory`: the predicted bytes by component, and where the total fits. */
function runMemory(o: { model: string; method: string; r: string; targetModules?: string; seqLen: string; batchSize: string; gradientCheckpointing?: boolean; doubleQuant: boolean; runtime: string; precision: string; json: boolean }): void {
  const method = choice<MemoryMethod>('--method', o.method, ['full', 'lora', 'qlora']);
  const runtime = choice<Runtime>('--runtime', o.runtime, ['pytorch', 'loralab']);
  const precision = choice<FullPrecision>('--precision', o.precision, ['mixed', 'bf16']);
  const r = num('--r', o.r, { int: true, min: 1 });
  const cfg = modelShapes(o.model);
  const targets = method === 'full' ? null : chooseTargets(cfg, o.targetModules);
  const options = {
    method,
    r,
    targetModules: targets?.targets,
    seqLen: num('--seq-len', o.seqLen, { int: true, min: 1 }),
    batchSize: num('--batch-size', o.batchSize, { int: true, min: 1 }),
    gradientCheckpointing: o.gradientCheckpointing,
    doubleQuant: o.doubleQuant,
    runtime,
  };
  const m = predictMemory(cfg, { ...options, precision });
  // full fine-tuning on a GPU has two accountings in use: both are printed, the chosen one in the table
  const accountings = method === 'full' && runtime === 'pytorch'
    ? (['mixed', 'bf16'] as const).map((p) => ({ precision: p, label: FULL_PRECISION_LABEL[p], total: predictMemory(cfg, { ...options, precision: p }).bytes.total }))
    : null;
  if (o.json) {
    console.log(JSON.stringify(accountings ? { ...m, precision, accountings } : m, null, 2));
    return;
  }
  printMemory(m, { model: o.model, method, precision, r, runtime, targetsLine: targets?.line, accountings });
}

export function registerMemoryCommand(program: Command): void {
  program
    .command('memory')
    .description('Predict the memory a fine-tuning run needs, by component (weights, constants, adapters, gradients, optimizer, activations)')
    .requiredOption('--model <dir|name>', MODEL_SHAPES_HELP)
    .requiredOption('--method <m>', 'full, lora or qlora')
    .option('--r <n>', 'LoRA rank', '8')
    .addOption(targetModulesOption())
    .option('--seq-len <n>', 'tokens per sequence', '512')
    .option('--batch-size <n>', 'sequences per step', '1')
    .option('--gradient-checkpointing', 'keep only each layer input and recompute the rest (QLoRA default with --runtime pytorch)')
    .option('--no-double-quant', 'QLoRA without double quantization')
    .option('--runtime <r>', "pytorch (a GPU with mixed precision, the papers' arithmetic) or loralab (this library on this machine's CPU, float32)", 'pytorch')
    .option('--precision <p>', 'full fine-tuning with --runtime pytorch: mixed (bf16 weights and gradients, float32 master weights, 16 B/param) or bf16 (no master copy, 12 B/param)', 'mixed')
    .option('--json', 'print JSON', false)
    .action((o: { model: string; method: string; r: string; targetModules?: string; seqLen: string; batchSize: string; gradientCheckpointing?: boolean; doubleQuant: boolean; runtime: string; precision: string; json: boolean }) => runMemory(o));
}
