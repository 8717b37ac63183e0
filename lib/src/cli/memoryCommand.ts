/** `loralab memory`: predicted bytes by component for full fine-tuning, LoRA and QLoRA. */
import { existsSync } from 'node:fs';
import { totalmem } from 'node:os';
import type { Command } from 'commander';
import { readGemmaConfig } from '../models/gemma/index.js';
import { NAMED_SHAPES, namedConfig } from '../peft/index.js';
import { predictMemory, type MemoryMethod, type Runtime } from '../memory/index.js';
import { humanBytes, table } from './format.js';
import { UsageError } from './errors.js';

const GB = 1e9;

export function registerMemoryCommand(program: Command): void {
  program
    .command('memory')
    .description('Predict the memory a fine-tuning run needs, by component (weights, constants, adapters, gradients, optimizer, activations)')
    .requiredOption('--model <dir|name>', `a model folder, or one of ${Object.keys(NAMED_SHAPES).join(', ')}`)
    .requiredOption('--method <m>', 'full, lora or qlora')
    .option('--r <n>', 'LoRA rank', '8')
    .option('--target-modules <list>', "comma-separated module names, or 'all-linear'", 'q_proj,k_proj,v_proj,o_proj')
    .option('--seq-len <n>', 'tokens per sequence', '512')
    .option('--batch-size <n>', 'sequences per step', '1')
    .option('--gradient-checkpointing', 'keep only each layer input and recompute the rest (QLoRA default with --runtime pytorch)')
    .option('--no-double-quant', 'QLoRA without double quantization')
    .option('--runtime <r>', "pytorch (mixed precision, the papers' arithmetic) or loralab (this library on TF.js, float32)", 'pytorch')
    .option('--json', 'print JSON', false)
    .action((o: { model: string; method: string; r: string; targetModules: string; seqLen: string; batchSize: string; gradientCheckpointing?: boolean; doubleQuant: boolean; runtime: string; json: boolean }) => {
      if (!['full', 'lora', 'qlora'].includes(o.method)) throw new UsageError(`--method must be full, lora or qlora (got '${o.method}')`);
      if (!['pytorch', 'loralab'].includes(o.runtime)) throw new UsageError(`--runtime must be pytorch or loralab (got '${o.runtime}')`);
      const int = (flag: string, v: string) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag} must be a positive integer (got '${v}')`);
        return n;
      };
      const cfg = namedConfig(o.model) ?? (existsSync(o.model) ? readGemmaConfig(o.model) : null);
      if (!cfg) throw new UsageError(`--model ${o.model}: neither a model folder nor one of ${Object.keys(NAMED_SHAPES).join(', ')}`);
      const targetModules = o.targetModules === 'all-linear' ? 'all-linear' : o.targetModules.split(',').map((s) => s.trim()).filter(Boolean);
      const m = predictMemory(cfg, {
        method: o.method as MemoryMethod,
        r: int('--r', o.r),
        targetModules,
        seqLen: int('--seq-len', o.seqLen),
        batchSize: int('--batch-size', o.batchSize),
        gradientCheckpointing: o.gradientCheckpointing,
        doubleQuant: o.doubleQuant,
        runtime: o.runtime as Runtime,
      });
      if (o.json) {
        console.log(JSON.stringify(m, null, 2));
        return;
      }
      const b = m.bytes;
      const rows: [string, number][] = [
        ['weights', b.weights], ['quantization constants', b.quantizationConstants], ['adapters', b.adapters], ['gradients', b.gradients],
        ['optimizer states', b.optimizerStates], ['activations', b.activations], ['overhead', b.overhead], ['total', b.total],
      ];
      console.log(`${o.model}, ${o.method}${o.method !== 'full' ? ` (r=${o.r}, ${m.parameters.adapters.toLocaleString('en-US')} adapter parameters)` : ''}, ${o.runtime} runtime: ${(m.parameters.total / 1e9).toFixed(2)}B parameters\n`);
      console.log(table(['component', 'GB', ''], rows.map(([k, v]) => [k, (v / GB).toFixed(2), humanBytes(v)]), ['l', 'r', 'r']));
      const fits = [['this machine', totalmem()], ['a 24 GB GPU', 24 * GB], ['a 48 GB GPU', 48 * GB], ['an 80 GB GPU', 80 * GB]] as const;
      console.log(`\nfits in: ${fits.map(([n, cap]) => `${n} ${b.total <= cap ? 'yes' : 'no'}`).join(', ')}`);
    });
}
