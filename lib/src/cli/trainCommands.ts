/** Fine-tuning commands: train, eval, generate. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { initBackend } from '../backend/index.js';
import { loadGemma, readGemmaConfig, saveGemma } from '../models/gemma/index.js';
import { loadPeftAdapter } from '../peft/index.js';
import { dbFolder, gradeAndReport } from './evalReport.js';
import { METHODS, QLORA_LOAD_OPTIONS, SCHEDULES, SQL_TEMPLATE, Trainer, buildExample, generate, generateBatch, prepareMethod, readJsonl, recipeLoraAlpha, type Method, type TrainOptions } from '../train/index.js';
import { UsageError } from './errors.js';
import { choice, num, outputDir, outputFile } from './args.js';
import { chooseTargets, targetModulesOption } from './targets.js';

/** Written next to the weights of adapters and prefixes, so that eval and generate can rebuild the modules. */
const METHOD_FILE = 'method.json';

function modelDir(v: string | undefined): string {
  const dir = v ?? process.env.GEMMA_2B_DIR;
  if (!dir) throw new UsageError('--model is required (or set GEMMA_2B_DIR to a downloaded google/gemma-2b folder)');
  if (!existsSync(dir)) throw new UsageError(`--model ${dir}: no such directory`);
  return dir;
}

/** A model (4-bit if asked) with its tokenizer and, if given, a PEFT adapter: what eval and generate run on. */
async function loadForInference(dir: string, o: { loadIn4bit: boolean; adapter?: string; trainable?: string }) {
  await initBackend();
  const loaded = loadGemma(dir, o.loadIn4bit ? QLORA_LOAD_OPTIONS : {});
  if (!loaded.tokenizer) throw new UsageError(`${dir}: no tokenizer.json`);
  if (o.adapter && o.trainable) throw new UsageError('give --adapter (a LoRA) or --trainable (adapters or prefixes), not both');
  if (o.adapter) loadPeftAdapter(loaded.model, o.adapter);
  if (o.trainable) {
    const file = join(o.trainable, METHOD_FILE);
    if (!existsSync(file)) throw new UsageError(`${o.trainable}: no ${METHOD_FILE} (expected the 'trainable' folder that loralab train --method adapter|prefix writes)`);
    const m = JSON.parse(readFileSync(file, 'utf8')) as { method?: string; r?: number };
    if ((m.method !== 'adapter' && m.method !== 'prefix') || !Number.isInteger(m.r)) throw new UsageError(`${file}: expected {"method": "adapter"|"prefix", "r": <integer>} (got ${JSON.stringify(m)})`);
    prepareMethod(loaded.model, m.method, { r: m.r }).trainable.load(o.trainable);
  }
  return { model: loaded.model, tokenizer: loaded.tokenizer, config: loaded.config };
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

function parseTrainOptions(o: Record<string, string | boolean | undefined>): TrainCliOptions {
  const str = (k: string) => o[k] as string;
  const method = choice<Method>('--method', str('method'), METHODS);
  const modelDirectory = modelDir(o.model as string | undefined);
  const seed = num('--seed', str('seed'), { int: true, min: 0 });
  const r = num('--r', str('r'), { int: true, min: 1 });
  return {
    method,
    modelDir: modelDirectory,
    // checked against config.json before the weights load, and printed
    targets: method === 'lora' || method === 'qlora' ? chooseTargets(readGemmaConfig(modelDirectory), o.targetModules as string | undefined) : null,
    data: str('data'),
    evalData: o.evalData as string | undefined,
    out: outputDir('--out', str('out')),
    r,
    loraAlpha: o.loraAlpha === undefined ? recipeLoraAlpha(r) : num('--lora-alpha', str('loraAlpha'), { above: 0 }),
    loraDropout: num('--lora-dropout', str('loraDropout'), { min: 0, max: 0.99 }),
    maxLength: num('--max-length', str('maxLength'), { int: true, min: 8 }),
    gradientCheckpointing: Boolean(o.gradientCheckpointing),
    train: {
      steps: num('--steps', str('steps'), { int: true, min: 1 }),
      lr: num('--lr', str('lr'), { above: 0 }),
      batchSize: num('--batch-size', str('batchSize'), { int: true, min: 1 }),
      gradAccum: num('--grad-accum', str('gradAccum'), { int: true, min: 1 }),
      warmupSteps: num('--warmup-steps', str('warmupSteps'), { int: true, min: 0 }),
      schedule: choice('--schedule', str('schedule'), SCHEDULES),
      weightDecay: num('--weight-decay', str('weightDecay'), { min: 0 }),
      maxGradNorm: num('--max-grad-norm', str('maxGradNorm'), { min: 0 }),
      evalEvery: num('--eval-every', str('evalEvery'), { int: true, min: 0 }),
      saveEvery: num('--save-every', str('saveEvery'), { int: true, min: 0 }),
      seed,
      resume: Boolean(o.resume),
    },
  };
}

/** Train, then write the final adapter (or model, or trainable set) and summary.json into --out. */
async function runTrain(c: TrainCliOptions): Promise<void> {
  const { method, train: t } = c;
  const records = readJsonl(c.data, ['question', 'sql'] as const);
  const evalRecords = c.evalData ? readJsonl(c.evalData, ['question', 'sql'] as const) : null;
  await initBackend();
  const loaded = loadGemma(c.modelDir, method === 'qlora' ? QLORA_LOAD_OPTIONS : { dtype: 'float32' });
  if (!loaded.tokenizer) throw new UsageError(`${c.modelDir}: no tokenizer.json`);
  const { model, tokenizer, config } = loaded;
  model.model.gradientCheckpointing = c.gradientCheckpointing;
  const prepared = prepareMethod(model, method, { r: c.r, loraAlpha: c.loraAlpha, loraDropout: c.loraDropout, targetModules: c.targets?.targets, seed: t.seed });
  const ex = (rs: Record<'question' | 'sql', string>[]) => rs.map((rec) => buildExample(tokenizer, SQL_TEMPLATE, rec, { maxLength: c.maxLength, eosId: config.eosTokenId }));
  // the trainer creates --out when it starts: every check above has passed by then
  const trainer = new Trainer(model, prepared.trainable, ex(records), evalRecords ? ex(evalRecords) : null, { ...t, outDir: c.out, evalLimit: 64 }, config.padTokenId);
  const trainableN = [...prepared.trainable.params.values()].reduce((s, v) => s + v.size, 0);
  if (c.targets) console.error(`${method} ${c.targets.line}`);
  const lora = prepared.peft ? ` (r ${c.r}, lora_alpha ${c.loraAlpha})` : '';
  console.error(`${method}: ${trainableN.toLocaleString('en-US')} trainable parameters${lora}; ${records.length} training examples`);
  const tty = process.stderr.isTTY;
  const bar = tty ? new cliProgress.SingleBar({ format: 'train [{bar}] {value}/{total} | loss {loss} | {tps} tok/s', stream: process.stderr }, cliProgress.Presets.shades_classic) : null;
  bar?.start(t.steps, 0, { loss: '-', tps: '-' });
  const t0 = performance.now();
  trainer.run({
    onResume: (s) => {
      console.error(`resumed from step ${s}`);
      bar?.update(s);
    },
    onStep: (m) => {
      bar?.update(m.step, { loss: m.loss.toFixed(4), tps: m.tokensPerSecond.toFixed(0) });
      if (!tty && (m.step % 10 === 0 || m.step === t.steps)) console.error(`step ${m.step}/${t.steps} loss ${m.loss.toFixed(4)} lr ${m.lr.toExponential(2)} grad-norm ${m.gradNorm.toFixed(3)} ${m.tokensPerSecond.toFixed(0)} tok/s`);
    },
    onEval: (e) => {
      if (!tty) console.error(`eval at step ${e.step}: loss ${e.evalLoss.toFixed(4)}`);
    },
  });
  bar?.stop();
  const final = join(c.out, prepared.peft ? 'adapter' : method === 'full' ? 'model' : 'trainable');
  if (prepared.peft) prepared.peft.saveAdapter(final);
  else if (method === 'full') saveGemma(model, final, { dtype: 'float32', tokenizerFrom: c.modelDir });
  else {
    mkdirSync(final, { recursive: true });
    prepared.trainable.save(final);
    writeFileSync(join(final, METHOD_FILE), `${JSON.stringify({ method, r: c.r }, null, 2)}\n`);
  }
  const last = trainer.records.at(-1);
  const lastEval = [...trainer.records].reverse().find((x) => x.evalLoss !== undefined)?.evalLoss ?? null;
  const summary = { method, r: c.r, trainableParameters: trainableN, steps: t.steps, finalLoss: last?.loss ?? null, finalEvalLoss: lastEval, seconds: (performance.now() - t0) / 1000, peakRss: trainer.records.reduce((m, x) => Math.max(m, x.rss), 0) };
  writeFileSync(join(c.out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  console.log(`trained ${t.steps} steps (${method})${last ? `; final loss ${last.loss.toFixed(4)}` : ''}; wrote ${final}`);
}

/** The options that choose what eval and generate run: the base folder, a LoRA adapter or trained modules, 4-bit loading. */
function withInferenceModel(cmd: Command): Command {
  return cmd
    .option('--model <dir>', 'model folder (default: $GEMMA_2B_DIR)')
    .option('--adapter <dir>', 'PEFT LoRA adapter folder')
    .option('--trainable <dir>', "bottleneck adapters or prefixes: the 'trainable' folder of loralab train --method adapter|prefix")
    .option('--load-in-4bit', 'NF4 + double quantization + bf16 compute', false);
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
    .action(async (o: Record<string, string | boolean | undefined>) => runTrain(parseTrainOptions(o)));

  withInferenceModel(program
    .command('eval')
    .description('Execution, test-suite execution, exact-match and literal accuracy of generated SQL (95% intervals), with a per-example report'))
    .requiredOption('--data <file>', 'JSONL with {"question", "sql"}')
    .option('--db <dir>', 'folder with schema.sql and data.sql', 'datasets/sql')
    .option('--limit <n>', 'evaluate the first N examples')
    .option('--max-new-tokens <n>', 'tokens to generate per answer', '96')
    .option('--report <file>', 'per-example report (JSON)', 'eval-report.json')
    .option('--batch-size <n>', 'questions decoded together (greedy; same answers as one at a time)', '16')
    .option('--variants <n>', 'generated variants of the task database for test-suite accuracy (0 = off)', '4')
    .action(async (o: { model?: string; adapter?: string; trainable?: string; loadIn4bit: boolean; data: string; db: string; limit?: string; maxNewTokens: string; report: string; batchSize: string; variants: string }) => {
      const dir = modelDir(o.model);
      outputFile('--report', o.report);
      const variants = num('--variants', o.variants, { int: true, min: 0, max: 64 });
      dbFolder(o.db);
      let records = readJsonl(o.data, ['question', 'sql'] as const);
      if (o.limit) records = records.slice(0, num('--limit', o.limit, { int: true, min: 1 }));
      const { model, tokenizer, config } = await loadForInference(dir, o);
      const maxNew = num('--max-new-tokens', o.maxNewTokens, { int: true, min: 1 });
      const batch = num('--batch-size', o.batchSize, { int: true, min: 1 });
      const items: { question: string; gold: string; predicted: string }[] = [];
      const bar = process.stderr.isTTY ? new cliProgress.SingleBar({ format: 'eval [{bar}] {value}/{total} questions', stream: process.stderr }, cliProgress.Presets.shades_classic) : null;
      bar?.start(records.length, 0);
      for (let i = 0; i < records.length; i += batch) {
        const chunk = records.slice(i, i + batch);
        const outs = generateBatch(model, chunk.map((rec) => tokenizer.encode(SQL_TEMPLATE.prompt(rec))), { maxNewTokens: maxNew, eosId: config.eosTokenId, padId: config.padTokenId });
        chunk.forEach((rec, j) => items.push({ question: rec.question, gold: rec.sql, predicted: tokenizer.decode(outs[j], { skipSpecialTokens: true }).trim() }));
        bar?.update(items.length);
        if (!bar) console.error(`generated ${items.length}/${records.length}`);
      }
      bar?.stop();
      await gradeAndReport(items, { dbDir: o.db, variants, reportPath: o.report });
    });

  withInferenceModel(program
    .command('generate')
    .description('Generate text from a prompt (greedy, or sampling with --temperature/--top-p)'))
    .requiredOption('--prompt <text>', 'the prompt (a <bos> is added)')
    .option('--max-new-tokens <n>', 'tokens to generate', '64')
    .option('--temperature <t>', '0 = greedy', '0')
    .option('--top-p <p>', 'nucleus sampling mass', '1')
    .option('--seed <n>', 'sampling seed', '0')
    .action(async (o: { model?: string; adapter?: string; trainable?: string; loadIn4bit: boolean; prompt: string; maxNewTokens: string; temperature: string; topP: string; seed: string }) => {
      const dir = modelDir(o.model);
      const { model, tokenizer, config } = await loadForInference(dir, o);
      const ids = generate(model, tokenizer.encode(o.prompt.replace(/\\n/g, '\n')), {
        maxNewTokens: num('--max-new-tokens', o.maxNewTokens, { int: true, min: 1 }),
        temperature: num('--temperature', o.temperature, { min: 0 }),
        topP: num('--top-p', o.topP, { min: 0, max: 1 }),
        seed: num('--seed', o.seed, { int: true, min: 0 }),
        eosId: config.eosTokenId,
      });
      console.log(tokenizer.decode(ids, { skipSpecialTokens: true }));
    });
}
