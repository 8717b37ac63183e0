// Follows a pre-training run of scripts/pretrain-gemma-micro.mjs on its snapshots: for every <run>/step-N folder, the
// copy probe on its every-10th-item subset (scripts/copy-probe.mjs --limit 44: 42 items), the next-token accuracy on
// repeated random spans (scripts/induction-check.mjs --eval-model, ids 4..--ids - 1, L --min-len..--max-len) and the
// held-out corpus loss the run logged at that step (<run>/metrics.jsonl). With --final, the model folder the run wrote
// at its last step is scored too, on the whole probe. Writes one JSON file with the commands.
// Run: npm run build && node scripts/copy-curve.mjs --run datasets/models/.gemma-micro-copy-v2-run --out FILE
//      [--final datasets/models/gemma-micro-copy-v2] [--command 'the pre-training command'] [--ids 512]
//      [--min-len 4] [--max-len 24]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { argReader } from './cli-args.mjs';

const root = new URL('..', import.meta.url).pathname;
const arg = argReader();
const RUN = arg('--run', '');
const OUT = arg('--out', '');
const COMMAND = arg('--command', '');
const FINAL = arg('--final', '');
const IDS = arg('--ids', 512);
const MIN_LEN = arg('--min-len', 4);
const MAX_LEN = arg('--max-len', 24);
if (!RUN || !OUT) throw new Error('usage: node scripts/copy-curve.mjs --run RUN_DIR --out FILE [--final MODEL_DIR] [--command TEXT] [--ids 512] [--min-len 4] [--max-len 24]');
const run = resolve(RUN);
const metricsFile = join(run, 'metrics.jsonl');
if (!existsSync(metricsFile)) throw new Error(`${RUN}: no metrics.jsonl (expected a run folder of scripts/pretrain-gemma-micro.mjs)`);
const metrics = readFileSync(metricsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const evalLoss = new Map(metrics.filter((r) => r.evalLoss !== undefined).map((r) => [r.step, r.evalLoss]));
const steps = readdirSync(run).map((d) => /^step-(\d+)$/.exec(d)).filter(Boolean).map((m) => Number(m[1])).sort((a, b) => a - b);
if (!steps.length) throw new Error(`${RUN}: no step-N snapshots`);

/** Runs a node script from the repository root; a failure throws with the end of its stderr. */
function script(args) {
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed: ${r.stderr.slice(-1500)}`);
  return r;
}

const lastStep = Math.max(...metrics.map((r) => r.step));
// [step, model folder, whole probe?]
const models = [...steps.map((step) => [step, relative(root, join(run, `step-${step}`)), false]), ...(FINAL ? [[lastStep, relative(root, resolve(FINAL)), true]] : [])];
const tmp = mkdtempSync(join(tmpdir(), 'loralab-curve-'));
const points = [];
try {
  for (const [step, dir, whole] of models) {
    const scoreFile = join(tmp, `score-${step}.json`);
    script(['scripts/copy-probe.mjs', '--model', dir, ...(whole ? [] : ['--limit', '44']), '--out', scoreFile]);
    const score = JSON.parse(readFileSync(scoreFile, 'utf8'));
    const induction = JSON.parse(script(['scripts/induction-check.mjs', '--eval-model', dir, '--ids', String(IDS), '--min-len', String(MIN_LEN), '--max-len', String(MAX_LEN)]).stdout.trim().split('\n').at(-1));
    const point = { step, model: dir, items: score.overall.n, correct: score.overall.correct, rate: score.overall.rate, ci95: score.overall.ci95, heldOutLoss: evalLoss.get(step) ?? null, syntheticCopyAccuracy: induction.accuracy, syntheticCopyAccuracyAllIds: induction.accuracyAllIds ?? null };
    points.push(point);
    console.error(`step ${step}: probe ${(100 * point.rate).toFixed(1)} % (${point.correct}/${point.items}), spans ${(100 * point.syntheticCopyAccuracy).toFixed(1)} %, held-out loss ${point.heldOutLoss?.toFixed(3) ?? '-'}`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
writeFileSync(resolve(OUT), `${JSON.stringify({
  run: relative(root, run),
  pretraining: COMMAND || null,
  command: `node scripts/copy-curve.mjs ${process.argv.slice(2).map((a) => (/\s/.test(a) ? `'${a}'` : a)).join(' ')}`,
  date: new Date().toISOString().slice(0, 10),
  subset: 'every 10th item of datasets/copy-probe/probe.jsonl (copy-probe --limit 44): 42 items; the --final model on the whole probe',
  syntheticCopy: `next-token accuracy on tokens 2..L of repeated random spans (ids 4..${IDS - 1}, L ${MIN_LEN}..${MAX_LEN}; 16 held-out rows), induction-check --eval-model; AllIds: spans over the whole vocabulary`,
  points,
}, null, 2)}\n`);
console.error(`wrote ${OUT}`);
