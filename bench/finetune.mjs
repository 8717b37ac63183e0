// The text-to-SQL fine-tuning experiments (`npm run bench -- finetune`, or `node bench/finetune.mjs [options]`): the
// plan is one table of runs (bench/finetune/plan.mjs), executed run by run and resumable (bench/finetune/execute.mjs),
// summarised into finetune.json (bench/finetune/summary.mjs): learning rates chosen by a grid on the validation
// split, headline methods × seeds with mean ± 95 % CI, rank sweeps (fixed α, α = 2r, rsLoRA), target modules,
// forgetting and the planted-rank experiment.
//
// Options (`--name value` or `--name=value`; under `npm run bench -- finetune` use the `=` form):
//   --only <list>                 comma-separated groups (lr-grid, headline, rank-fixed-alpha, rank-alpha-2r,
//                                 rank-rslora, targets, forgetting, planted), headline configurations (lora-r8: every
//                                 seed) or run names (lora-r8-s1); the runs they need are run first
//   --base <model dir>            default datasets/models/gemma-micro
//   --steps <n>                   training steps of a run (default 500); --grid-steps <n> of a grid point (steps/5)
//   --seeds <n>                   seeds per headline method (default 3)
//   --methods <list>              default lora,qlora,full,adapter,prefix
//   --ranks <list>                default 1,2,4,8,16,32,64;  --grid-points <n>: learning rates per grid (default 4)
//   --eval-limit <n>              test questions per evaluation (default: all); --variants <n> (default 4)
//   --batch-size <n> (8)  --out <dir> (bench/results)  --corpus <file>
//   --max-length <n>, --max-new-tokens <n>: tokens per training example and per generated query (defaults: 128 and
//                                 96, or more where the base's tokenizer spells the task's longest ones in more tokens)
// FINETUNE_ONLY=<list> is read as --only.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { GROUPS, buildPlan, HEADLINE, MIN_MAX_LENGTH, MIN_MAX_NEW_TOKENS } from './finetune/plan.mjs';
import { executeRun, writeJson } from './finetune/execute.mjs';
import { chooseLearningRates, summarize, trainLiteralSet } from './finetune/summary.mjs';
import { machine } from './machine.mjs';
import { TextTokenizer } from '../lib/dist/io/index.js';
import { SQL_TEMPLATE } from '../lib/dist/train/index.js';

const root = new URL('..', import.meta.url).pathname;

const FLAGS = ['only', 'base', 'steps', 'grid-steps', 'seeds', 'methods', 'ranks', 'grid-points', 'eval-limit', 'variants', 'batch-size', 'max-length', 'max-new-tokens', 'out', 'corpus', 'corpus-texts', 'planted-questions'];

/**
 * Default lengths that fit the task under the base's tokenizer: every training example (<bos> prompt SQL <eos>) whole
 * and every gold query with a quarter to spare, never below the 128 and 96 that the earlier bases ran with (a tokenizer
 * that keeps spaces apart spells a query in about twice the tokens).
 */
function taskTokenLengths(base) {
  const tok = TextTokenizer.fromDir(base);
  const rows = ['train', 'test'].flatMap((s) => readFileSync(join(root, 'datasets/sql', `${s}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l)));
  let example = 0;
  let query = 0;
  for (const r of rows) {
    const sql = tok.encode(r.sql, { addSpecialTokens: false }).length;
    query = Math.max(query, sql);
    example = Math.max(example, tok.encode(SQL_TEMPLATE.prompt(r)).length + sql + 1);
  }
  const up16 = (n) => 16 * Math.ceil(n / 16);
  return { maxLength: Math.max(MIN_MAX_LENGTH, up16(example)), maxNewTokens: Math.max(MIN_MAX_NEW_TOKENS, up16(1.25 * query)) };
}

/** The options from argv, each checked: one clear error naming the flag and what was expected. */
export function parseOptions(argv, env = process.env) {
  const raw = {};
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m) continue; // benchmark names (bench/run.mjs passes them through)
    if (!FLAGS.includes(m[1])) throw new Error(`finetune: unknown option --${m[1]} (known: ${FLAGS.map((f) => `--${f}`).join(', ')})`);
    raw[m[1]] = m[2] ?? argv[++i];
    if (raw[m[1]] === undefined) throw new Error(`finetune: --${m[1]} needs a value`);
  }
  const int = (k, d, min = 1) => {
    if (raw[k] === undefined) return d;
    const n = Number(raw[k]);
    if (!Number.isInteger(n) || n < min) throw new Error(`finetune: --${k} must be an integer >= ${min} (got '${raw[k]}')`);
    return n;
  };
  const list = (k, d) => (raw[k] === undefined ? d : raw[k].split(',').map((s) => s.trim()).filter(Boolean));
  const steps = int('steps', 500);
  const methods = list('methods', HEADLINE.map((h) => h.method));
  const bad = methods.find((m) => !HEADLINE.some((h) => h.method === m));
  if (bad) throw new Error(`finetune: --methods: '${bad}' is not one of ${HEADLINE.map((h) => h.method).join(', ')}`);
  const ranks = list('ranks', ['1', '2', '4', '8', '16', '32', '64']).map((r) => {
    if (!/^\d+$/.test(r) || Number(r) < 1) throw new Error(`finetune: --ranks must be positive integers (got '${r}')`);
    return Number(r);
  });
  const base = resolve(raw.base ?? join(root, 'datasets/models/gemma-micro'));
  if (!existsSync(join(base, 'config.json'))) throw new Error(`finetune: --base ${base}: no config.json (expected a Hugging Face model folder)`);
  const out = resolve(raw.out ?? join(root, 'bench/results'));
  const fit = taskTokenLengths(base);
  const o = {
    only: list('only', env.FINETUNE_ONLY ? env.FINETUNE_ONLY.split(',') : null), base, steps, gridSteps: int('grid-steps', Math.max(1, Math.round(steps / 5))),
    seeds: Array.from({ length: int('seeds', 3) }, (_, i) => i), methods, ranks, gridPoints: int('grid-points', 4), evalLimit: int('eval-limit', 0, 0) || null,
    variants: int('variants', 4, 0), batchSize: int('batch-size', 8), maxLength: int('max-length', fit.maxLength, 8), maxNewTokens: int('max-new-tokens', fit.maxNewTokens), out, runsDir: join(out, 'finetune-runs'),
    sql: join(root, 'datasets/sql'), corpus: resolve(raw.corpus ?? join(root, 'datasets/corpus/corpus.txt')), corpusTexts: int('corpus-texts', 64),
    plantedQuestions: raw['planted-questions'] === undefined ? undefined : int('planted-questions', 0), plantedHeldOut: raw['planted-questions'] === undefined ? undefined : Math.max(2, Math.ceil(int('planted-questions', 0) / 4)),
  };
  return o;
}

/** The rows --only picks: groups, headline configurations (lora-r8: its runs at every seed) and run names. */
export function selectRuns(plan, only) {
  if (!only) return plan;
  const isConfig = (x) => plan.some((r) => r.group === 'headline' && r.name0 === x);
  const unknown = only.filter((x) => !GROUPS.includes(x) && !plan.some((r) => r.name === x) && !isConfig(x));
  if (unknown.length) throw new Error(`finetune: --only: ${unknown.join(', ')} is neither a group (${GROUPS.join(', ')}), a headline configuration (${HEADLINE.map((h) => h.name).join(', ')}) nor a run of the plan`);
  return plan.filter((r) => only.includes(r.group) || only.includes(r.name) || (r.group === 'headline' && only.includes(r.name0)));
}

export async function run(argv = process.argv.slice(2)) {
  const t0 = performance.now();
  const o = parseOptions(argv);
  o.trainLiterals = trainLiteralSet(o.sql);
  const config = JSON.parse(readFileSync(join(o.base, 'config.json'), 'utf8'));
  const plan = buildPlan(config, { seeds: o.seeds, ranks: o.ranks, methods: o.methods, gridPoints: o.gridPoints });
  const byName = new Map(plan.map((r) => [r.name, r]));
  const selected = selectRuns(plan, o.only);
  mkdirSync(o.runsDir, { recursive: true });
  const log = (s) => process.stderr.write(`finetune: ${s}\n`);
  const results = new Map();
  const dirOf = (name) => join(o.runsDir, name);
  const ensure = async (name) => {
    if (results.has(name)) return results.get(name);
    const row = byName.get(name);
    for (const need of [...(row.needs ?? []), ...(row.sameAs ? [row.sameAs] : [])]) await ensure(need);
    if (row.lr === 'tuned') await lrOf(row); // its grid belongs to the results even when the run itself is finished
    const result = await executeRun(o, row, { lrOf, dirOf, log });
    results.set(name, result);
    return result;
  };
  // a tuned learning rate: every point of the method's grid first (each resumable), then the choice
  const lrOf = async (row) => {
    if (row.lr !== 'tuned') return row.lr;
    const grid = plan.filter((r) => r.group === 'lr-grid' && r.name0 === row.name0);
    if (!grid.length) throw new Error(`finetune plan: ${row.name} wants a tuned learning rate but ${row.name0} has no grid`);
    for (const g of grid) await ensure(g.name);
    const chosen = chooseLearningRates(grid.map((g) => results.get(g.name)))[row.name0].chosen;
    if (chosen === null) throw new Error(`finetune: every learning rate of the ${row.name0} grid diverged; widen LR_GRID in bench/finetune/plan.mjs`);
    return chosen;
  };
  for (const row of selected) await ensure(row.name);
  const ran = plan.filter((r) => results.has(r.name)).map((r) => results.get(r.name));
  return {
    name: 'finetune',
    what: `text-to-SQL fine-tuning on ${o.base.replace(`${root}`, '')}: ${o.steps} steps (grid points ${o.gridSteps}), batch ${o.batchSize}, warmup + cosine; greedy decoding on the test split${o.evalLimit ? ` (first ${o.evalLimit})` : ''}; test-suite accuracy on the shipped database + ${o.variants} variants; 95 % Wilson intervals per run, Student-t over seeds`,
    command: `node ${relative(root, process.argv[1] ?? join(root, 'bench/finetune.mjs'))} ${argv.join(' ')}`.trim(),
    wallSeconds: (performance.now() - t0) / 1000,
    options: { only: o.only, base: o.base.replace(`${root}`, ''), steps: o.steps, gridSteps: o.gridSteps, seeds: o.seeds, methods: o.methods, ranks: o.ranks, gridPoints: o.gridPoints, evalLimit: o.evalLimit, variants: o.variants },
    plan,
    ...summarize(ran, plan),
    runs: ran,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const o = parseOptions(process.argv.slice(2));
    const result = { ...(await run()), machine: machine() };
    mkdirSync(o.out, { recursive: true });
    writeJson(join(o.out, 'finetune.json'), result);
    console.log(`wrote ${join(o.out, 'finetune.json')} (${result.runs.length} runs, ${result.wallSeconds.toFixed(0)} s)`);
  } catch (e) {
    console.error(e.message.startsWith('finetune: ') ? e.message.replace(/^finetune: /, 'finetune: error: ') : `finetune: error: ${e.message}`);
    process.exitCode = 1;
  }
}
