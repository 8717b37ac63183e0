/** `loralab train`: fine-tune with LoRA, QLoRA, full fine-tuning, bottleneck adapters or prefix tuning. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { initBackend } from '../backend/index.js';
import { loadGemma, readGemmaConfig, saveGemma, type GemmaForCausalLM } from '../models/gemma/index.js';
import { METHODS, QLORA_LOAD_OPTIONS, SCHEDULES, SQL_TEMPLATE, Trainer, buildExample, prepareMethod, readJsonl, recipeLoraAlpha, type Method, type MetricRecord, type PreparedMethod, type TrainOptions } from '../train/index.js';
import { UsageError } from './errors.js';
import { choice, num, outputDir } from './args.js';
import { chooseTargets, targetModulesOption } from './targets.js';
import { METHOD_FILE, modelDir, registerInferenceCommands } from './inferenceCommands.js';

/** The flags of `loralab train` as Commander hands them over: strings (defaults included) and switches. */
interface TrainFlags {
  model?: string;
  data: string;
  evalData?: string;
  out: string;
  method: string;
  r: string;
  loraAlpha?: string;
  loraDropout: string;
  targetModules?: string;
  steps: string;
  lr: string;
  batchSize: string;
  gradAccum: string;
  warmupSteps: string;
  schedule: string;
  weightDecay: string;
  maxGradNorm: string;
  maxLength: string;
  evalEvery: string;
  saveEvery: string;
  seed: string;
  resume: boolean;
  gradientCheckpointing: boolean;
}

/** Everything `loralab train` needs, read and checked from the command line before any file is read or written. */
interface TrainCliOptions {
  method: Method;
  modelDir: string;
  targets: ReturnType<typeof chooseTargets> | null;
  data: string;
  evalData?: string;
  out: string;
  r: number;
  loraAlpha: number;
  loraDropout: number;
  maxLength: number;
  gradientCheckpointing: boolean;
  train: Omit<TrainOptions, 'outDir' | 'evalLimit'>;
}

function parseTrainOptions(o: TrainFlags): TrainCliOptions {
  const method = choice<Method>('--method', o.method, METHODS);
  const dir = modelDir(o.model);
  const r = num('--r', o.r, { int: true, min: 1 });
  return {
    method,
    modelDir: dir,
    // checked against config.json before the weights load, and printed
    targets: method === 'lora' || method === 'qlora' ? chooseTargets(readGemmaConfig(dir), o.targetModules) : null,
    data: o.data,
    evalData: o.evalData,
    out: outputDir('--out', o.out),
    r,
    loraAlpha: o.loraAlpha === undefined ? recipeLoraAlpha(r) : num('--lora-alpha', o.loraAlpha, { above: 0 }),
    loraDropout: num('--lora-dropout', o.loraDropout, { min: 0, max: 0.99 }),
    maxLength: num('--max-length', o.maxLength, { int: true, min: 8 }),
    gradientCheckpointing: o.gradientCheckpointing,
    train: {
      steps: num('--steps', o.steps, { int: true, min: 1 }),
      lr: num('--lr', o.lr, { above: 0 }),
      batchSize: num('--batch-size', o.batchSize, { int: true, min: 1 }),
      gradAccum: num('--grad-accum', o.gradAccum, { int: true, min: 1 }),
      warmupSteps: num('--warmup-steps', o.warmupSteps, { int: true, min: 0 }),
      schedule: choice('--schedule', o.schedule, SCHEDULES),
      weightDecay: num('--weight-decay', o.weightDecay, { min: 0 }),
      maxGradNorm: num('--max-grad-norm', o.maxGradNorm, { min: 0 }),
      evalEvery: num('--eval-every', o.evalEvery, { int: true, min: 0 }),
      saveEvery: num('--save-every', o.saveEvery, { int: true, min: 0 }),
      seed: num('--seed', o.seed, { int: true, min: 0 }),
      resume: o.resume,
    },
  };
}

/** The model, the method's trainable set and the trainer, with the examples tokenized; prints what will train. */
async function prepareTraining(c: TrainCliOptions): Promise<{ model: GemmaForCausalLM; prepared: PreparedMethod; trainer: Trainer; trainableParameters: number }> {
  const records = readJsonl(c.data, ['question', 'sql'] as const);
  const evalRecords = c.evalData ? readJsonl(c.evalData, ['question', 'sql'] as const) : null;
  await initBackend();
  const loaded = loadGemma(c.modelDir, c.method === 'qlora' ? QLORA_LOAD_OPTIONS : { dtype: 'float32' });
  const { model, tokenizer, config } = loaded;
  if (!tokenizer) throw new UsageError(`${c.modelDir}: no tokenizer.json`);
  model.model.gradientCheckpointing = c.gradientCheckpointing;
  const prepared = prepareMethod(model, c.method, { r: c.r, loraAlpha: c.loraAlpha, loraDropout: c.loraDropout, targetModules: c.targets?.targets, seed: c.train.seed });
  const examples = (rs: Record<'question' | 'sql', string>[]) => rs.map((rec) => buildExample(tokenizer, SQL_TEMPLATE, rec, { maxLength: c.maxLength, eosId: config.eosTokenId }));
  // the trainer creates --out when it starts: every check above has passed by then
  const trainer = new Trainer(model, prepared.trainable, examples(records), evalRecords ? examples(evalRecords) : null, { ...c.train, outDir: c.out, evalLimit: 64 }, config.padTokenId);
  if (c.targets) console.error(`${c.method} ${c.targets.line}`);
  const lora = prepared.peft ? ` (r ${c.r}, lora_alpha ${c.loraAlpha})` : '';
  const trainableParameters = [...prepared.trainable.params.values()].reduce((s, v) => s + v.size, 0);
  console.error(`${c.method}: ${trainableParameters.toLocaleString('en-US')} trainable parameters${lora}; ${records.length} training examples`);
  return { model, prepared, trainer, trainableParameters };
}

/** Runs the trainer with a progress bar on a TTY, or a line every 10 steps (and each evaluation) otherwise. */
function runWithProgress(trainer: Trainer, steps: number): void {
  const tty = process.stderr.isTTY;
  const bar = tty ? new cliProgress.SingleBar({ format: 'train [{bar}] {value}/{total} | loss {loss} | {tps} tok/s', stream: process.stderr }, cliProgress.Presets.shades_classic) : null;
  bar?.start(steps, 0, { loss: '-', tps: '-' });
  const line = (m: MetricRecord) => `step ${m.step}/${steps} loss ${m.loss.toFixed(4)} lr ${m.lr.toExponential(2)} grad-norm ${m.gradNorm.toFixed(3)} ${m.tokensPerSecond.toFixed(0)} tok/s`;
  trainer.run({
    onResume: (s) => {
      console.error(`resumed from step ${s}`);
      bar?.update(s);
    },
    onStep: (m) => {
      bar?.update(m.step, { loss: m.loss.toFixed(4), tps: m.tokensPerSecond.toFixed(0) });
      if (!tty && (m.step % 10 === 0 || m.step === steps)) console.error(line(m));
    },
    onEval: (e) => {
      if (!tty) console.error(`eval at step ${e.step}: loss ${e.evalLoss.toFixed(4)}`);
    },
  });
  bar?.stop();
}

/** The final adapter (PEFT's files), model (full fine-tuning) or trainable set with its method.json; returns the folder. */
function saveResult(c: TrainCliOptions, model: GemmaForCausalLM, prepared: PreparedMethod): string {
  const final = join(c.out, prepared.peft ? 'adapter' : c.method === 'full' ? 'model' : 'trainable');
  if (prepared.peft) prepared.peft.saveAdapter(final);
  else if (c.method === 'full') saveGemma(model, final, { dtype: 'float32', tokenizerFrom: c.modelDir });
  else {
    mkdirSync(final, { recursive: true });
    prepared.trainable.save(final);
    writeFileSync(join(final, METHOD_FILE), `${JSON.stringify({ method: c.method, r: c.r }, null, 2)}\n`);
  }
  return final;
}

/** summary.json: what trained, its last training and evaluation losses, the time and the peak RSS. */
function writeSummary(c: TrainCliOptions, trainer: Trainer, trainableParameters: number, seconds: number): void {
  const records = trainer.records;
  const summary = {
    method: c.method,
    r: c.r,
    trainableParameters,
    steps: c.train.steps,
    finalLoss: records.at(-1)?.loss ?? null,
    finalEvalLoss: [...records].reverse().find((x) => x.evalLoss !== undefined)?.evalLoss ?? null,
    seconds,
    peakRss: records.reduce((m, x) => Math.max(m, x.rss), 0),
  };
  writeFileSync(join(c.out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
}

/** Train, then write the final adapter (or model, or trainable set) and summary.json into --out. */
async function runTrain(c: TrainCliOptions): Promise<void> {
  const { model, prepared, trainer, trainableParameters } = await prepareTraining(c);
  const t0 = performance.now();
  runWithProgress(trainer, c.train.steps);
  const final = saveResult(c, model, prepared);
  writeSummary(c, trainer, trainableParameters, (performance.now() - t0) / 1000);
  const last = trainer.records.at(-1);
  console.log(`trained ${c.train.steps} steps (${c.method})${last ? `; final loss ${last.loss.toFixed(4)}` : ''}; wrote ${final}`);
}

export function registerTrainCommands(program: Command): void {
  program
    .command('train')
    .description('Fine-tune a Gemma model on question/SQL pairs with LoRA, QLoRA, full fine-tuning, adapters or prefix tuning')
    .option('--model <dir>', 'base model folder (default: $GEMMA_2B_DIR)')
    .requiredOption('--data <file>', 'training JSONL with {"question", "sql"}')
    .option('--eval-data <file>', 'validation JSONL, evaluated every --eval-every steps')
    .requiredOption('--out <dir>', 'output folder: checkpoints, metrics.jsonl, the final adapter or model')
    .option('--method <m>', METHODS.join('|'), 'lora')
    .option('--r <n>', 'LoRA rank (adapter bottleneck / prefix length for those methods)', '8')
    .option('--lora-alpha <n>', "LoRA alpha (default 2·r, LoRA Lab's recipe; PEFT's LoraConfig default is 8)")
    .option('--lora-dropout <p>', 'dropout on the adapter input', '0.05')
    .addOption(targetModulesOption())
    .option('--steps <n>', 'optimizer steps', '200')
    .option('--lr <x>', 'peak learning rate', '2e-4')
    .option('--batch-size <n>', 'examples per micro-batch', '8')
    .option('--grad-accum <n>', 'micro-batches per optimizer step', '1')
    .option('--warmup-steps <n>', 'linear warmup steps', '0')
    .option('--schedule <s>', SCHEDULES.join('|'), 'constant')
    .option('--weight-decay <x>', 'AdamW decoupled weight decay', '0')
    .option('--max-grad-norm <x>', 'gradient clipping (global L2 norm)', '0.3')
    .option('--max-length <n>', 'tokens per example (prompt + answer)', '128')
    .option('--eval-every <n>', 'evaluate every N steps (0 = only at the end)', '50')
    .option('--save-every <n>', 'checkpoint every N steps', '50')
    .option('--seed <n>', 'seed for initialisation, shuffling and dropout', '0')
    .option('--resume', 'continue from the last checkpoint in --out', false)
    .option('--gradient-checkpointing', "keep only each layer's input and recompute the layer in the backward pass", false)
    .action(async (o: TrainFlags) => runTrain(parseTrainOptions(o)));
  registerInferenceCommands(program);
}
