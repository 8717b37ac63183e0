/**
 * The pieces of the site's QLoRA demo that run outside the browser, in Node: which backend a tab trains on and why
 * (webgpu/tab.ts), a TrainingRun that stops and resumes exactly where it stopped (webgpu/run.ts, on the committed
 * tiny Gemma fixture), the base model's answer with the adapters switched off, and the grader's query function and
 * SqlRunner interface that the demo's SQL worker and page use (sql/statement.ts, sql/grade.ts).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend/init.js';
import { chooseTabBackend, isSoftwareAdapter, QloraSession, TrainingRun, type ModelFiles, type RunProgress } from '../../lib/src/webgpu/index.js';
import { runReadOnlyQuery, type SqlJsLike } from '../../lib/src/sql/statement.js';
import { gradeSql, type SqlRunner } from '../../lib/src/sql/grade.js';
import type { SqlResult } from '../../lib/src/sql/database.js';

const ROOT = join(import.meta.dirname, '../..');
const TINY = join(ROOT, 'test/fixtures/gemma-tiny');
const SQL_DIR = join(ROOT, 'datasets/sql');
const records = readFileSync(join(SQL_DIR, 'train.jsonl'), 'utf8').trim().split('\n').slice(0, 12).map((l) => JSON.parse(l) as { question: string; sql: string });

const hardware = { vendor: 'nvidia', architecture: 'ampere', description: 'NVIDIA A10', isFallbackAdapter: false };
const swiftshader = { vendor: 'google', architecture: 'swiftshader', description: '', isFallbackAdapter: false };

describe('the backend a tab trains on', () => {
  it('is WebGPU on a hardware adapter, naming it', () => {
    const c = chooseTabBackend({ adapter: hardware });
    expect(c.name).toBe('webgpu');
    expect(c.reason).toContain('nvidia ampere NVIDIA A10');
  });
  it('is wasm without navigator.gpu or an adapter, saying why', () => {
    const c = chooseTabBackend({ adapter: null, why: 'navigator.gpu gave no adapter' });
    expect(c).toEqual({ name: 'wasm', reason: 'navigator.gpu gave no adapter, so the CPU runs it through WebAssembly' });
  });
  it('is wasm when the only adapter is a software one (SwiftShader, or any fallback adapter), unless WebGPU is asked for', () => {
    expect(isSoftwareAdapter(swiftshader)).toBe(true);
    expect(isSoftwareAdapter({ ...hardware, isFallbackAdapter: true })).toBe(true);
    expect(isSoftwareAdapter(hardware)).toBe(false);
    const c = chooseTabBackend({ adapter: swiftshader });
    expect(c.name).toBe('wasm');
    expect(c.reason).toMatch(/google swiftshader, a software emulation of a GPU/);
    expect(chooseTabBackend({ adapter: swiftshader }, 'webgpu')).toMatchObject({ name: 'webgpu', reason: expect.stringContaining('a software adapter') });
  });
  it('follows a preference, and refuses WebGPU where there is no adapter', () => {
    expect(chooseTabBackend({ adapter: hardware }, 'wasm').name).toBe('wasm');
    expect(() => chooseTabBackend({ adapter: null, why: 'this browser has no WebGPU (navigator.gpu is undefined)' }, 'webgpu')).toThrow('WebGPU was asked for, but this browser has no WebGPU (navigator.gpu is undefined)');
  });
});

const files = (): ModelFiles => {
  const read = (f: string) => JSON.parse(readFileSync(join(TINY, f), 'utf8')) as Record<string, unknown>;
  return { config: read('config.json'), safetensors: readFileSync(join(TINY, 'model.safetensors')), tokenizer: read('tokenizer.json'), tokenizerConfig: read('tokenizer_config.json'), name: TINY };
};
const SETTINGS = { steps: 6, batchSize: 3, maxLength: 48, seed: 3 };
const session = () => QloraSession.fromFiles(files(), { r: 4, lr: 5e-3, totalSteps: SETTINGS.steps, warmupSteps: 1, schedule: 'cosine', targetModules: ['q_proj', 'v_proj'], seed: 1 });

describe('a training run that stops and resumes', () => {
  beforeAll(async () => { await initBackend({ log: false, env: { LORALAB_BACKEND: 'wasm' } }); }, 60_000);

  it('resumed after a stop, gives the uninterrupted run\'s loss curve step for step, from the same data position', async () => {
    const straight = new TrainingRun(session(), records, SETTINGS);
    const whole: RunProgress[] = [];
    expect(await straight.train((p) => whole.push(p))).toBe('done');
    expect(whole.map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(straight.done).toBe(true);

    const run = new TrainingRun(session(), records, SETTINGS);
    const parts: RunProgress[] = [];
    const first = await run.train((p) => { parts.push(p); if (p.step === 2) run.stop(); });
    expect(first).toBe('stopped');
    expect(run.step).toBe(2);
    expect(run.position()).toEqual({ epoch: 0, pos: 2 * SETTINGS.batchSize });
    expect(run.running).toBe(false);
    expect(await run.train((p) => parts.push(p))).toBe('done');
    expect(parts.map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(parts.map((p) => p.loss)).toEqual(whole.map((p) => p.loss));
    expect(parts.map((p) => p.lr)).toEqual(whole.map((p) => p.lr));
    for (const p of parts) expect(p.tokensPerSecond).toBeCloseTo(p.tokens / p.seconds, 6);
    straight.session.dispose();
    run.session.dispose();
  }, 120_000);

  it('lets messages through between steps (it yields a macrotask after each) and refuses a second train() meanwhile', async () => {
    const run = new TrainingRun(session(), records, SETTINGS);
    let timerFired = 0;
    let stepsWhenFired = -1;
    setTimeout(() => { timerFired++; stepsWhenFired = run.step; run.stop(); }, 0);
    const going = run.train();
    await expect(run.train()).rejects.toThrow('TrainingRun: already training');
    expect(await going).toBe('stopped');
    expect(timerFired).toBe(1);
    expect(stepsWhenFired).toBe(1); // the timer ran right after the first step, not after the whole run
    expect(run.step).toBe(1);
    run.session.dispose();
  }, 120_000);

  it('checks its settings, naming the field', () => {
    const s = session();
    expect(() => new TrainingRun(s, records, { ...SETTINGS, batchSize: 0 })).toThrow('TrainingRun: batchSize must be a whole number above 0 (got 0)');
    expect(() => new TrainingRun(s, [], SETTINGS)).toThrow('TrainingRun: no training records');
    s.dispose();
  });

  it('answers as the base model with the adapters off, and puts every B back bit for bit', async () => {
    const trained = session();
    const run = new TrainingRun(trained, records, SETTINGS);
    await run.train();
    const before = [...trained.peft.loraLayers.values()].map((l) => l.loraB.dataSync().slice());
    expect(before.some((b) => b.some((v) => v !== 0))).toBe(true);
    const prompt = 'Question: How many stores are in Paris?\nSQL:';
    const base = session();
    const baseAnswer = await base.generate(prompt, { maxNewTokens: 12 });
    expect(await trained.generate(prompt, { maxNewTokens: 12, adapters: false })).toBe(baseAnswer);
    const after = [...trained.peft.loraLayers.values()].map((l) => l.loraB.dataSync().slice());
    expect(after).toEqual(before);
    const n = tf.memory().numTensors;
    await trained.generate(prompt, { maxNewTokens: 4, adapters: false });
    expect(tf.memory().numTensors).toBe(n); // the copies of B are released
    trained.dispose();
    base.dispose();
  }, 120_000);
});

describe('the grader as the demo runs it', () => {
  let SQL: SqlJsLike;
  let bytes: Uint8Array;
  beforeAll(async () => {
    const initSqlJs = createRequire(join(ROOT, 'lib/package.json'))('sql.js') as () => Promise<SqlJsLike & { Database: new () => { exec(s: string): unknown; export(): Uint8Array; close(): void } }>;
    SQL = await initSqlJs();
    const db = new SQL.Database() as unknown as { exec(s: string): unknown; export(): Uint8Array; close(): void };
    db.exec(readFileSync(join(SQL_DIR, 'schema.sql'), 'utf8'));
    db.exec(readFileSync(join(SQL_DIR, 'data.sql'), 'utf8'));
    bytes = db.export();
    db.close();
  });
  const limits = { maxRows: 100_000, maxResultBytes: 32 << 20 };

  it('runReadOnlyQuery answers a SELECT, refuses a write or a second statement, and caps the rows', () => {
    const ok = runReadOnlyQuery(SQL, bytes, 'SELECT COUNT(*) FROM stores;', limits);
    expect('rows' in ok && ok.rows[0][0]).toBeGreaterThan(0);
    expect(runReadOnlyQuery(SQL, bytes, 'DELETE FROM stores', limits)).toEqual({ error: 'invalid SQL: only a read-only SELECT (or WITH … SELECT) is graded, not DELETE' });
    expect(runReadOnlyQuery(SQL, bytes, 'SELECT 1; SELECT 2', limits)).toEqual({ error: 'invalid SQL: more than one statement (only one SELECT is graded)' });
    expect(runReadOnlyQuery(SQL, bytes, 'SELECT * FROM stores', { ...limits, maxRows: 1 })).toEqual({ error: 'the query returns more than 1 rows' });
    expect(() => runReadOnlyQuery(SQL, bytes, 'SELEC nothing', limits)).toThrow(/syntax error/); // the workers report it
  });

  it('gradeSql takes any SqlRunner (the demo\'s is a Web Worker) and grades blobs without Node\'s Buffer', async () => {
    const runner: SqlRunner = {
      run: async (sql: string): Promise<SqlResult> => {
        try {
          const r = runReadOnlyQuery(SQL, bytes, sql, limits);
          return 'error' in r ? { ok: false, error: r.error } : { ok: true, ...r };
        } catch (e) {
          return { ok: false, error: (e as Error).message }; // as the workers answer SQLite's errors
        }
      },
    };
    const gold = 'SELECT COUNT(*) FROM stores;';
    const report = await gradeSql(runner, [
      { question: 'q1', gold, predicted: 'select count(*) from stores' },
      { question: 'q2', gold, predicted: 'SELECT COUNT(*) FROM customers;' },
      { question: 'q3', gold, predicted: 'SELECT nonsense FROM stores' },
      { question: 'q4', gold: "SELECT X'00ff'", predicted: "SELECT X'00FF'" },
    ]);
    expect(report.examples.map((e) => e.executionMatch)).toEqual([true, false, false, true]);
    expect(report.examples[1].skeletonMatch).toBe(false);
    expect(report.examples[2].error).toMatch(/no such column: nonsense/);
    expect(report.invalid).toBe(1);
  });
});
