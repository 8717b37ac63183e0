// Executes one row of the plan (plan.mjs) into <out>/finetune-runs/<name>/, resumably:
// - finished (result.json, and eval-report.json for an SQL run): skipped;
// - interrupted during training: `loralab train --resume` continues from the run's last trainer checkpoint;
// - interrupted after training: the trained adapter or model on disk is evaluated, nothing is retrained.
// Training and SQL evaluation go through the real CLI, each in its own process, with its output in train.log/eval.log.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildTeacher, heldOutCorpus, klDivergence, meanTokenLoss, openModel, teacherData } from './measure.mjs';
import { novelLiteralAccuracy } from './summary.mjs';
import { MIN_MAX_LENGTH } from './plan.mjs';

const root = new URL('../..', import.meta.url).pathname;
const CLI = join(root, 'lib/dist/cli/main.js');

const readJson = (p) => JSON.parse(readFileSync(p, 'utf8'));
/** Written through a temporary file and a rename: a killed run leaves the old file or the new one, never half of one. */
export function writeJson(path, value) {
  writeFileSync(`${path}.tmp-${process.pid}`, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(`${path}.tmp-${process.pid}`, path);
}

function cli(args, logPath) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--expose-gc', CLI, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  writeFileSync(logPath, `$ loralab ${args.join(' ')}\n${r.stdout}${r.stderr}`, { flag: 'a' });
  if (r.status !== 0) {
    const err = new Error(`loralab ${args[0]} failed (exit ${r.status}); see ${logPath}:\n${r.stderr.trim().split('\n').slice(-3).join('\n')}`);
    err.stderr = r.stderr;
    throw err;
  }
  return { stdout: r.stdout, stderr: r.stderr, seconds: (performance.now() - t0) / 1000 };
}

const sha256 = new Map();
const fileSha256 = (p) => {
  if (!sha256.has(p)) sha256.set(p, createHash('sha256').update(readFileSync(p)).digest('hex'));
  return sha256.get(p);
};

/** What a run's result depends on besides its row: the base weights and the settings of training and evaluation. */
function fingerprint(o, row) {
  const trains = Boolean(row.method);
  return {
    baseSha256: fileSha256(join(o.base, 'model.safetensors')),
    ...(trains ? { steps: row.group === 'lr-grid' ? o.gridSteps : o.steps, batchSize: o.batchSize, ...(o.maxLength !== MIN_MAX_LENGTH ? { maxLength: o.maxLength } : {}) } : {}),
    ...(row.measure === 'sql' ? { evalLimit: o.evalLimit, variants: o.variants, maxNewTokens: o.maxNewTokens } : {}),
    ...(row.measure === 'corpus-loss' ? { corpus: o.corpus, corpusTexts: o.corpusTexts } : {}),
  };
}

/** Where a run's trained weights are and how `loralab eval` loads them. */
function trainedModel(o, row, dir) {
  const t = join(dir, 'train');
  if (row.method === 'lora' || row.method === 'qlora') return { model: o.base, adapter: join(dir, 'adapter'), loadIn4bit: row.method === 'qlora' };
  if (row.method === 'full') return { model: join(t, 'model') };
  if (row.method === 'adapter' || row.method === 'prefix') return { model: o.base, trainable: join(dir, 'trainable') };
  return { model: o.base };
}

/** `loralab train` for a row; after it, the adapter (PEFT layout) or trainable set is copied next to result.json. */
function train(o, row, dir, lr, data) {
  const t = join(dir, 'train');
  const summaryPath = join(t, 'summary.json');
  let seconds = 0;
  if (!existsSync(summaryPath)) {
    const steps = row.group === 'lr-grid' ? o.gridSteps : o.steps;
    const args = ['train', '--model', o.base, '--data', data.train, '--eval-data', data.valid, '--out', t, '--method', row.method, '--steps', String(steps), '--lr', String(lr),
      '--batch-size', String(o.batchSize), '--warmup-steps', String(Math.min(20, Math.floor(steps / 10))), '--schedule', 'cosine', '--eval-every', String(Math.max(Math.floor(steps / 5), Math.min(steps, 10))),
      '--save-every', String(Math.max(1, Math.floor(steps / 4))), '--seed', String(row.seed ?? 0), '--max-length', String(o.maxLength), '--resume'];
    if (row.r) args.push('--r', String(row.r));
    if (row.method === 'lora' || row.method === 'qlora') args.push('--lora-alpha', String(row.loraAlpha), '--target-modules', row.targets, '--lora-dropout', '0');
    seconds = cli(args, join(dir, 'train.log')).seconds;
  }
  const summary = readJson(summaryPath);
  if (row.method === 'lora' || row.method === 'qlora') cpSync(join(t, 'adapter'), join(dir, 'adapter'), { recursive: true });
  if (row.method === 'adapter' || row.method === 'prefix') cpSync(join(t, 'trainable'), join(dir, 'trainable'), { recursive: true });
  const curve = readFileSync(join(t, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
    .filter((m) => m.step % 10 === 0 || m.evalLoss !== undefined)
    .map((m) => ({ step: m.step, loss: Number(m.loss.toFixed(4)), ...(m.evalLoss !== undefined ? { evalLoss: Number(m.evalLoss.toFixed(4)) } : {}) }));
  return { summary: { ...summary, wallSeconds: seconds || summary.seconds }, curve };
}

function evalSql(o, row, dir) {
  const m = trainedModel(o, row, dir);
  const report = join(dir, 'eval-report.json');
  const args = ['eval', '--model', m.model, '--data', join(o.sql, 'test.jsonl'), '--db', o.sql, '--report', report, '--max-new-tokens', String(o.maxNewTokens), '--variants', String(o.variants)];
  if (o.evalLimit) args.push('--limit', String(o.evalLimit));
  if (m.adapter) args.push('--adapter', m.adapter);
  if (m.loadIn4bit) args.push('--load-in-4bit');
  if (m.trainable) args.push('--trainable', m.trainable);
  const seconds = cli(args, join(dir, 'eval.log')).seconds;
  return { report: readJson(report), seconds };
}

/** The SQL metrics of a report as a run's result fields (the earlier fields kept, so notebooks still read them). */
const sqlFields = (rep) => ({
  executionAccuracy: rep.executionAccuracy, testSuiteAccuracy: rep.testSuiteAccuracy, exactMatch: rep.exactMatch, literalAccuracy: rep.literalAccuracy,
  skeletonMatch: rep.skeletonMatch, invalidSql: rep.invalid, testExamples: rep.n, metrics: rep.metrics, testSuite: rep.testSuite,
});

/**
 * Runs `row` unless it is finished. `lrOf(row)` gives its learning rate (the tuned one resolves its grid first);
 * `dirOf(name)` is another run's folder (what `needs` points at).
 */
export async function executeRun(o, row, { lrOf, dirOf, log }) {
  const dir = dirOf(row.name);
  const resultPath = join(dir, 'result.json');
  const done = existsSync(resultPath) && (row.measure !== 'sql' || existsSync(join(dir, 'eval-report.json')));
  const made = fingerprint(o, row);
  if (done) {
    const old = readJson(resultPath);
    // a finished run counts only if it was made from the same base and settings (an older run of another plan may
    // share its name): anything else would mix results of two experiments without saying so
    if (JSON.stringify(old.madeWith) !== JSON.stringify(made)) {
      throw new Error(`finetune: ${resultPath} was made with ${JSON.stringify(old.madeWith ?? 'an earlier runner')}, this plan runs ${JSON.stringify(made)}; move that run folder away (or pass --out) to run it again`);
    }
    log(`skip ${row.name}: finished (${resultPath})`);
    return old;
  }
  mkdirSync(dir, { recursive: true });
  if (row.sameAs) {
    // the same training as another run (plan.mjs): its result under this name, pointing at where the files are
    log(`run ${row.name} (${row.group}): the same training as ${row.sameAs}`);
    const result = { ...readJson(join(dirOf(row.sameAs), 'result.json')), madeWith: made, name: row.name, group: row.group, sameAs: row.sameAs };
    writeFileSync(join(dir, 'eval-report.json'), readFileSync(join(dirOf(row.sameAs), 'eval-report.json')));
    writeJson(resultPath, result);
    return result;
  }
  // an interrupted run resumes only what this plan would have made
  const madePath = join(dir, 'made-with.json');
  if (existsSync(madePath) && JSON.stringify(readJson(madePath)) !== JSON.stringify(made)) {
    throw new Error(`finetune: ${dir} holds an unfinished run made with ${readFileSync(madePath, 'utf8').trim()}, this plan runs ${JSON.stringify(made)}; move it away (or pass --out)`);
  }
  writeJson(madePath, made);
  log(`run ${row.name} (${row.group})`);
  const lr = row.method ? await lrOf(row) : null;
  const base = { madeWith: made, name: row.name, group: row.group, ...(row.name0 ? { name0: row.name0 } : {}), method: row.method ?? 'none (pre-trained)', r: row.r ?? null, loraAlpha: row.loraAlpha ?? null,
    ...(row.rslora ? { rslora: { alpha: row.rslora.alpha, writtenAsLoraAlpha: row.loraAlpha } } : {}), targets: row.targets ?? null, seed: row.seed ?? null, lr,
    steps: row.method ? (row.group === 'lr-grid' ? o.gridSteps : o.steps) : 0 };
  let result;
  const sqlData = { train: join(o.sql, 'train.jsonl'), valid: join(o.sql, 'valid.jsonl') };
  if (row.measure === 'valid-loss') {
    try {
      const t = train(o, row, dir, lr, sqlData);
      result = { ...base, finalEvalLoss: t.summary.finalEvalLoss, finalTrainLoss: t.summary.finalLoss, trainSeconds: t.summary.wallSeconds, curve: t.curve };
    } catch (e) {
      // a learning rate that diverges is a result of the grid, not a failure of the runner
      if (!/diverg|not finite|NaN/i.test(e.stderr ?? '')) throw e;
      result = { ...base, finalEvalLoss: null, diverged: true, error: e.stderr.trim().split('\n').at(-1) };
    }
  } else if (row.measure === 'sql') {
    const t = row.method ? train(o, row, dir, lr, sqlData) : null;
    const ev = evalSql(o, row, dir);
    result = { ...base, ...sqlFields(ev.report), trainableParameters: t?.summary.trainableParameters ?? 0, peakRssBytes: t?.summary.peakRss ?? null, trainSeconds: t?.summary.wallSeconds ?? 0,
      finalTrainLoss: t?.summary.finalLoss ?? null, finalEvalLoss: t?.summary.finalEvalLoss ?? null, evalSeconds: ev.seconds, novelLiterals: novelLiteralAccuracy(ev.report, o.trainLiterals), curve: t?.curve ?? [] };
  } else if (row.measure === 'corpus-loss') {
    const of = row.of;
    const m = of ? trainedModel(o, { method: readJson(join(dirOf(of), 'result.json')).method }, dirOf(of)) : { model: o.base };
    const t0 = performance.now();
    const texts = heldOutCorpus(o.corpus, o.corpusTexts);
    const { loss, tokens } = meanTokenLoss(await openModel(m.model, m), texts);
    result = { ...base, of: of ?? 'base', corpus: o.corpus, corpusTexts: texts.length, tokens, corpusLoss: loss, seconds: (performance.now() - t0) / 1000 };
  } else if (row.measure === 'teacher') {
    const t0 = performance.now();
    const { layers } = await buildTeacher(o.base, join(dir, 'model'), row.planted);
    const data = await teacherData(join(dir, 'model'), join(dir, 'data'), { ...row.planted, trainQuestions: o.plantedQuestions ?? row.planted.trainQuestions, heldOutQuestions: o.plantedHeldOut ?? row.planted.heldOutQuestions, sqlDir: o.sql, maxNewTokens: o.maxNewTokens }); // the teacher writes its queries whole, as any evaluation does
    result = { ...base, planted: row.planted, layers, data, seconds: (performance.now() - t0) / 1000 };
  } else if (row.measure === 'kl') {
    const teacherDir = dirOf(row.needs[0]);
    const t = train(o, row, dir, lr, { train: join(teacherDir, 'data', 'train.jsonl'), valid: join(teacherDir, 'data', 'valid.jsonl') });
    const m = trainedModel(o, row, dir);
    const texts = readJson(join(teacherDir, 'data', 'held-out.json'));
    const { kl, positions } = klDivergence(await openModel(join(teacherDir, 'model')), await openModel(m.model, m), texts);
    result = { ...base, trainableParameters: t.summary.trainableParameters, klTeacherStudent: kl, positions, finalEvalLoss: t.summary.finalEvalLoss, trainSeconds: t.summary.wallSeconds, curve: t.curve };
  } else throw new Error(`finetune plan: run ${row.name} has an unknown measure '${row.measure}'`);
  writeJson(resultPath, result);
  return result;
}
