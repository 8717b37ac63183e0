// Fine-tuning experiments on the text-to-SQL task with gemma-micro, side by side: execution accuracy before
// fine-tuning, after LoRA, QLoRA and full fine-tuning, and a LoRA rank sweep — each with trainable parameters, peak
// memory and wall time. Each run goes through the real CLI (`loralab train`, `loralab eval`) in its own process.
// Runs are resumable: finished ones (bench/results/finetune-runs/<name>/result.json) are not repeated.
// FINETUNE_ONLY=lora,qlora limits the runs; FINETUNE_EVAL_LIMIT=N evaluates the first N test questions.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const CLI = join(root, 'lib/dist/cli/main.js');
const MODEL = join(root, 'datasets/models/gemma-micro');
const SQL = join(root, 'datasets/sql');
const runsDir = join(root, 'bench/results/finetune-runs');
const STEPS = Number(process.env.FINETUNE_STEPS ?? 500);
const EVAL_LIMIT = process.env.FINETUNE_EVAL_LIMIT;

const RUNS = [
  { name: 'base', method: null },
  { name: 'lora-r8', method: 'lora', r: 8, lr: 5e-3 },
  { name: 'qlora-r8', method: 'qlora', r: 8, lr: 5e-3 },
  { name: 'full', method: 'full', lr: 5e-4 },
  { name: 'adapter-r8', method: 'adapter', r: 8, lr: 5e-3 },
  { name: 'prefix-r8', method: 'prefix', r: 8, lr: 1e-2 },
  ...[1, 2, 4, 16, 64].map((r) => ({ name: `lora-r${r}`, method: 'lora', r, lr: 5e-3, sweep: true })),
];

function cli(args) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--expose-gc', CLI, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`loralab ${args[0]} failed:\n${r.stderr}`);
  return { stdout: r.stdout, stderr: r.stderr, seconds: (performance.now() - t0) / 1000 };
}

export async function run() {
  const only = process.env.FINETUNE_ONLY?.split(',');
  mkdirSync(runsDir, { recursive: true });
  const results = [];
  for (const cfg of RUNS) {
    if (only && !only.includes(cfg.name)) continue;
    const dir = join(runsDir, cfg.name);
    const resultPath = join(dir, 'result.json');
    if (existsSync(resultPath)) {
      results.push(JSON.parse(readFileSync(resultPath, 'utf8')));
      continue;
    }
    mkdirSync(dir, { recursive: true });
    let train = null;
    let curve = [];
    const evalArgs = ['eval', '--model', MODEL, '--data', join(SQL, 'test.jsonl'), '--db', SQL, '--report', join(dir, 'eval-report.json'), ...(EVAL_LIMIT ? ['--limit', EVAL_LIMIT] : [])];
    if (cfg.method) {
      const out = join(dir, 'run');
      const args = ['train', '--model', MODEL, '--data', join(SQL, 'train.jsonl'), '--eval-data', join(SQL, 'valid.jsonl'), '--out', out, '--method', cfg.method,
        '--steps', String(STEPS), '--lr', String(cfg.lr), '--batch-size', '8', '--warmup-steps', '20', '--schedule', 'cosine', '--eval-every', '100', '--save-every', '100', '--seed', '0', '--resume'];
      if (cfg.r) args.push('--r', String(cfg.r), '--lora-alpha', String(2 * cfg.r), '--target-modules', 'all-linear', '--lora-dropout', '0');
      train = cli(args);
      const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
      train = { ...summary, wallSeconds: train.seconds };
      if (cfg.method === 'lora' || cfg.method === 'qlora') evalArgs.push('--adapter', join(out, 'adapter'));
      if (cfg.method === 'qlora') evalArgs.push('--load-in-4bit');
      if (cfg.method === 'full') evalArgs.splice(evalArgs.indexOf(MODEL), 1, join(out, 'model'));
      if (cfg.method === 'adapter' || cfg.method === 'prefix') evalArgs.push('--trainable', join(out, 'trainable'));
      // the loss curve, every 10th step and every evaluation, for the notebooks
      curve = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
        .filter((m) => m.step % 10 === 0 || m.evalLoss !== undefined)
        .map((m) => ({ step: m.step, loss: Number(m.loss.toFixed(4)), ...(m.evalLoss !== undefined ? { evalLoss: Number(m.evalLoss.toFixed(4)) } : {}) }));
    }
    const ev = cli(evalArgs);
    const report = JSON.parse(readFileSync(join(dir, 'eval-report.json'), 'utf8'));
    const result = {
      name: cfg.name, method: cfg.method ?? 'none (pre-trained)', r: cfg.r ?? null, sweep: Boolean(cfg.sweep), steps: cfg.method ? STEPS : 0,
      executionAccuracy: report.executionAccuracy, exactMatch: report.exactMatch, skeletonMatch: report.skeletonMatch, invalidSql: report.invalid, testExamples: report.n,
      trainableParameters: train?.trainableParameters ?? 0, peakRssBytes: train?.peakRss ?? null, trainSeconds: train?.wallSeconds ?? 0,
      finalTrainLoss: train?.finalLoss ?? null, finalEvalLoss: train?.finalEvalLoss ?? null, evalSeconds: ev.seconds, lr: cfg.lr ?? null, curve,
    };
    writeFileSync(resultPath, `${JSON.stringify(result, null, 2)}\n`);
    process.stderr.write(`${cfg.name}: execution accuracy ${(100 * result.executionAccuracy).toFixed(1)}%\n`);
    results.push(result);
  }
  const byName = Object.fromEntries(results.map((r) => [r.name, r]));
  return {
    name: 'finetune',
    what: `text-to-SQL on gemma-micro: ${STEPS} steps, batch 8, warmup 20 + cosine, LoRA alpha = 2r on all linear layers (adapters: bottleneck r; prefix: r virtual tokens); greedy decoding, test set of datasets/sql${EVAL_LIMIT ? ` (first ${EVAL_LIMIT})` : ''}`,
    runs: results,
    ratios: byName['lora-r8'] && byName['qlora-r8'] ? { qloraMinusLoraAccuracyPoints: 100 * (byName['qlora-r8'].executionAccuracy - byName['lora-r8'].executionAccuracy) } : {},
  };
}
