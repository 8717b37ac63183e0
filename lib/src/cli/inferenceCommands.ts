/** The commands that run a trained model: eval (generate SQL and grade it) and generate (text from a prompt). */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { initBackend } from '../backend/index.js';
import { loadGemma, type GemmaConfig, type GemmaForCausalLM } from '../models/gemma/index.js';
import type { TextTokenizer } from '../io/index.js';
import { loadPeftAdapter } from '../peft/index.js';
import { QLORA_LOAD_OPTIONS, SQL_TEMPLATE, generate, generateBatch, prepareMethod, readJsonl } from '../train/index.js';
import { dbFolder, gradeAndReport } from './evalReport.js';
import { UsageError } from './errors.js';
import { num, outputFile } from './args.js';

/** Written next to the weights of adapters and prefixes, so that eval and generate can rebuild the modules. */
export const METHOD_FILE = 'method.json';

/** --model, or $GEMMA_2B_DIR: a folder that exists. */
export function modelDir(v: string | undefined): string {
  const dir = v ?? process.env.GEMMA_2B_DIR;
  if (!dir) throw new UsageError('--model is required (or set GEMMA_2B_DIR to a downloaded google/gemma-2b folder)');
  if (!existsSync(dir)) throw new UsageError(`--model ${dir}: no such directory`);
  return dir;
}

/** The flags withInferenceModel adds, as Commander hands them over. */
interface InferenceFlags {
  model?: string;
  adapter?: string;
  trainable?: string;
  loadIn4bit: boolean;
}

interface InferenceModel {
  model: GemmaForCausalLM;
  tokenizer: TextTokenizer;
  config: GemmaConfig;
}

/** The options that choose what eval and generate run: the base folder, a LoRA adapter or trained modules, 4-bit loading. */
function withInferenceModel(cmd: Command): Command {
  return cmd
    .option('--model <dir>', 'model folder (default: $GEMMA_2B_DIR)')
    .option('--adapter <dir>', 'PEFT LoRA adapter folder')
    .option('--trainable <dir>', "bottleneck adapters or prefixes: the 'trainable' folder of loralab train --method adapter|prefix")
    .option('--load-in-4bit', 'NF4 + double quantization + bf16 compute', false);
}

/** Refuses --adapter with --trainable before anything loads. */
function checkInferenceFlags(o: InferenceFlags): void {
  if (o.adapter && o.trainable) throw new UsageError('give --adapter (a LoRA) or --trainable (adapters or prefixes), not both');
}

/** The `method.json` of a --trainable folder: which modules to rebuild, and their size. */
function readMethodFile(dir: string): { method: 'adapter' | 'prefix'; r: number } {
  const file = join(dir, METHOD_FILE);
  if (!existsSync(file)) throw new UsageError(`${dir}: no ${METHOD_FILE} (expected the 'trainable' folder that loralab train --method adapter|prefix writes)`);
  const m = JSON.parse(readFileSync(file, 'utf8')) as { method?: string; r?: number };
  if ((m.method !== 'adapter' && m.method !== 'prefix') || !Number.isInteger(m.r)) {
    throw new UsageError(`${file}: expected {"method": "adapter"|"prefix", "r": <integer>} (got ${JSON.stringify(m)})`);
  }
  return { method: m.method, r: m.r as number };
}

/** A model (4-bit if asked) with its tokenizer and, if given, a PEFT adapter or trained modules (flags already checked). */
async function loadForInference(dir: string, o: InferenceFlags): Promise<InferenceModel> {
  await initBackend();
  const loaded = loadGemma(dir, o.loadIn4bit ? QLORA_LOAD_OPTIONS : {});
  if (!loaded.tokenizer) throw new UsageError(`${dir}: no tokenizer.json`);
  if (o.adapter) loadPeftAdapter(loaded.model, o.adapter);
  if (o.trainable) {
    const m = readMethodFile(o.trainable);
    prepareMethod(loaded.model, m.method, { r: m.r }).trainable.load(o.trainable);
  }
  return { model: loaded.model, tokenizer: loaded.tokenizer, config: loaded.config };
}

interface EvalFlags extends InferenceFlags {
  data: string;
  db: string;
  limit?: string;
  maxNewTokens: string;
  report: string;
  batchSize: string;
  variants: string;
}

/** Everything `loralab eval` needs, checked before the model loads. */
interface EvalOptions {
  modelDir: string;
  inference: InferenceFlags;
  records: Record<'question' | 'sql', string>[];
  dbDir: string;
  reportPath: string;
  variants: number;
  maxNewTokens: number;
  batchSize: number;
}

function parseEvalOptions(o: EvalFlags): EvalOptions {
  const dir = modelDir(o.model);
  checkInferenceFlags(o);
  const reportPath = outputFile('--report', o.report);
  const variants = num('--variants', o.variants, { int: true, min: 0, max: 64 });
  const dbDir = dbFolder(o.db);
  const limit = o.limit === undefined ? undefined : num('--limit', o.limit, { int: true, min: 1 });
  const maxNewTokens = num('--max-new-tokens', o.maxNewTokens, { int: true, min: 1 });
  const batchSize = num('--batch-size', o.batchSize, { int: true, min: 1 });
  const records = readJsonl(o.data, ['question', 'sql'] as const).slice(0, limit);
  return { modelDir: dir, inference: o, records, dbDir, reportPath, variants, maxNewTokens, batchSize };
}

/** Greedy answers to every question, `batchSize` at a time, with a progress bar (or lines when stderr is not a TTY). */
function answerAll(m: InferenceModel, c: EvalOptions): { question: string; gold: string; predicted: string }[] {
  const { records } = c;
  const items: { question: string; gold: string; predicted: string }[] = [];
  const bar = process.stderr.isTTY ? new cliProgress.SingleBar({ format: 'eval [{bar}] {value}/{total} questions', stream: process.stderr }, cliProgress.Presets.shades_classic) : null;
  bar?.start(records.length, 0);
  for (let i = 0; i < records.length; i += c.batchSize) {
    const chunk = records.slice(i, i + c.batchSize);
    const prompts = chunk.map((rec) => m.tokenizer.encode(SQL_TEMPLATE.prompt(rec)));
    const outs = generateBatch(m.model, prompts, { maxNewTokens: c.maxNewTokens, eosId: m.config.eosTokenId, padId: m.config.padTokenId });
    chunk.forEach((rec, j) => items.push({ question: rec.question, gold: rec.sql, predicted: m.tokenizer.decode(outs[j], { skipSpecialTokens: true }).trim() }));
    bar?.update(items.length);
    if (!bar) console.error(`generated ${items.length}/${records.length}`);
  }
  bar?.stop();
  return items;
}

async function runEval(c: EvalOptions): Promise<void> {
  const m = await loadForInference(c.modelDir, c.inference);
  await gradeAndReport(answerAll(m, c), { dbDir: c.dbDir, variants: c.variants, reportPath: c.reportPath });
}

interface GenerateFlags extends InferenceFlags {
  prompt: string;
  maxNewTokens: string;
  temperature: string;
  topP: string;
  seed: string;
}

async function runGenerate(o: GenerateFlags): Promise<void> {
  const dir = modelDir(o.model);
  checkInferenceFlags(o);
  const sampling = {
    maxNewTokens: num('--max-new-tokens', o.maxNewTokens, { int: true, min: 1 }),
    temperature: num('--temperature', o.temperature, { min: 0 }),
    topP: num('--top-p', o.topP, { min: 0, max: 1 }),
    seed: num('--seed', o.seed, { int: true, min: 0 }),
  };
  const { model, tokenizer, config } = await loadForInference(dir, o);
  const ids = generate(model, tokenizer.encode(o.prompt.replace(/\\n/g, '\n')), { ...sampling, eosId: config.eosTokenId });
  console.log(tokenizer.decode(ids, { skipSpecialTokens: true }));
}

export function registerInferenceCommands(program: Command): void {
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
    .action(async (o: EvalFlags) => runEval(parseEvalOptions(o)));

  withInferenceModel(program
    .command('generate')
    .description('Generate text from a prompt (greedy, or sampling with --temperature/--top-p)'))
    .requiredOption('--prompt <text>', 'the prompt (a <bos> is added)')
    .option('--max-new-tokens <n>', 'tokens to generate', '64')
    .option('--temperature <t>', '0 = greedy', '0')
    .option('--top-p <p>', 'nucleus sampling mass', '1')
    .option('--seed <n>', 'sampling seed', '0')
    .action(async (o: GenerateFlags) => runGenerate(o));
}
