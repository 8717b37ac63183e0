/**
 * The text-to-SQL grader's database: SQLite (sql.js, SQLite compiled to WebAssembly) loaded once from schema.sql and
 * data.sql, then every query runs on a fresh copy made from the original bytes, so nothing a query did (even one
 * that got past the read-only rules) can change what a later query sees. A query must be exactly one read-only
 * statement (`SELECT`, or `WITH … SELECT`: see statement.ts). It runs in a worker thread with a time limit, a cap
 * on the worker's JavaScript heap, SQLite's own hard heap limit (which bounds the WebAssembly memory, an
 * ArrayBuffer that the heap cap does not see) and caps on the rows and bytes returned: a runaway query is stopped
 * and reported as an error, and the worker is restarted for the next one.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { leadingKeyword, onlyTrivia, refusal, runReadOnlyQuery, skipTrivia } from './statement.js';
import { SqlTaskError } from './errors.js';

export type SqlValue = number | string | Uint8Array | null;

export type SqlResult = { ok: true; columns: string[]; rows: SqlValue[][] } | { ok: false; error: string };

export interface SqlLimits {
  /** SQLite's hard heap limit, MB (PRAGMA hard_heap_limit): allocations past it fail with "out of memory". */
  sqliteHeapMb: number;
  /** The worker's V8 old-generation heap, MB (resourceLimits): results are copied there. */
  workerHeapMb: number;
  /** Rows a query may return. */
  maxRows: number;
  /** Bytes a query may return (strings count 2 per character, numbers 8, blobs their length). */
  maxResultBytes: number;
}

export const DEFAULT_SQL_LIMITS: SqlLimits = { sqliteHeapMb: 128, workerHeapMb: 256, maxRows: 100_000, maxResultBytes: 32 << 20 };

// The worker: builds the database once (or takes its bytes from the previous worker), then runs each query on a
// fresh copy (statement.ts' runReadOnlyQuery, which the site's browser demo runs too). Written as CommonJS source
// because a Worker cannot load this package's TypeScript.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const initSqlJs = require(workerData.sqlJsPath);
${skipTrivia.toString()}
${onlyTrivia.toString()}
${leadingKeyword.toString()}
${refusal.toString()}
${runReadOnlyQuery.toString()}
const L = workerData.limits;
initSqlJs().then((SQL) => {
  let bytes = workerData.bytes;
  if (!bytes) {
    const db = new SQL.Database();
    db.exec(workerData.schema);
    db.exec(workerData.data);
    bytes = db.export();
    db.close();
  }
  // Process-wide in SQLite: every connection's allocations together stay under it.
  const setup = new SQL.Database();
  setup.exec('PRAGMA hard_heap_limit = ' + L.sqliteHeapMb * 1048576 + ';');
  setup.close();
  parentPort.postMessage({ ready: true, bytes });
  parentPort.on('message', ({ id, sql }) => {
    try {
      parentPort.postMessage({ id, ...runReadOnlyQuery(SQL, bytes, sql, L) });
    } catch (e) {
      parentPort.postMessage({ id, error: String(e && e.message ? e.message : e) });
    }
  });
}, (e) => parentPort.postMessage({ fatal: String(e && e.message ? e.message : e) }));
`;

type Reply = { id?: number; columns?: string[]; rows?: SqlValue[][]; error?: string; ready?: boolean; bytes?: Uint8Array; fatal?: string };

export class SqlDatabase {
  private worker: Worker | null = null;
  private bytes: Uint8Array | null = null;
  private nextId = 0;
  private readonly sqlJsPath: string;

  private constructor(readonly dir: string, private readonly schema: string, private readonly data: string, readonly limits: SqlLimits) {
    this.sqlJsPath = createRequire(import.meta.url).resolve('sql.js');
  }

  /** A folder with schema.sql and data.sql (datasets/sql). */
  static async open(dir: string, limits: Partial<SqlLimits> = {}): Promise<SqlDatabase> {
    const read = (f: string) => {
      const p = join(dir, f);
      if (!existsSync(p)) throw new SqlTaskError(`no ${f}`, { file: dir, expected: "the task's schema.sql and data.sql" });
      return readFileSync(p, 'utf8');
    };
    return SqlDatabase.fromSql(dir, read('schema.sql'), read('data.sql'), limits);
  }

  /** A database made from SQL text (a test-suite variant); `label` names it in errors. */
  static async fromSql(label: string, schema: string, data: string, limits: Partial<SqlLimits> = {}): Promise<SqlDatabase> {
    const db = new SqlDatabase(label, schema, data, { ...DEFAULT_SQL_LIMITS, ...limits });
    await db.start();
    return db;
  }

  private start(): Promise<Worker> {
    return new Promise((resolve, reject) => {
      const w = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { sqlJsPath: this.sqlJsPath, schema: this.bytes ? '' : this.schema, data: this.bytes ? '' : this.data, bytes: this.bytes, limits: this.limits },
        resourceLimits: { maxOldGenerationSizeMb: this.limits.workerHeapMb, maxYoungGenerationSizeMb: 16 },
      });
      const fail = (e: Error) => reject(new SqlTaskError(`cannot load the database (${e.message})`, { file: this.dir, cause: e }));
      const onMsg = (m: Reply) => {
        if (m.ready) {
          w.off('message', onMsg);
          w.off('error', fail);
          this.bytes = m.bytes ?? null;
          this.worker = w;
          resolve(w);
        } else if (m.fatal) fail(new SqlTaskError(m.fatal));
      };
      w.on('message', onMsg);
      w.once('error', fail);
    });
  }

  /** Stops the worker (a time-out, a heap overflow) so that the next query starts a new one. */
  private drop(w: Worker): void {
    if (this.worker === w) this.worker = null;
    void w.terminate();
  }

  /**
   * Run one query on a fresh copy of the database; refusals ("invalid SQL: …"), SQLite errors, time-outs and memory
   * overflows come back as { ok: false, error }.
   */
  async run(sql: string, opts: { timeoutMs?: number } = {}): Promise<SqlResult> {
    const w = this.worker ?? (await this.start());
    const id = this.nextId++;
    const timeoutMs = opts.timeoutMs ?? 2000;
    return new Promise<SqlResult>((resolve) => {
      const finish = (r: SqlResult, stop: boolean) => {
        clearTimeout(timer);
        w.off('message', onMsg);
        w.off('error', onError);
        w.off('exit', onExit);
        if (stop) this.drop(w);
        resolve(r);
      };
      const timer = setTimeout(() => finish({ ok: false, error: `timed out after ${timeoutMs} ms` }, true), timeoutMs);
      const onMsg = (m: Reply) => {
        if (m.id !== id) return;
        // SQLite's "out of memory" leaves the WebAssembly memory grown; a new worker gives it back.
        if (m.error === undefined) finish({ ok: true, columns: m.columns ?? [], rows: m.rows ?? [] }, false);
        else if (/^out of memory$/i.test(m.error)) finish({ ok: false, error: `out of memory: the query passed SQLite's ${this.limits.sqliteHeapMb} MB heap limit` }, true);
        else finish({ ok: false, error: m.error }, false);
      };
      const onError = (e: Error & { code?: string }) =>
        finish({ ok: false, error: e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? `out of memory: the query's results passed the ${this.limits.workerHeapMb} MB limit` : `the query stopped the database worker (${e.message})` }, true);
      const onExit = (code: number) => finish({ ok: false, error: `the query stopped the database worker (exit ${code})` }, true);
      w.on('message', onMsg);
      w.on('error', onError);
      w.on('exit', onExit);
      w.postMessage({ id, sql });
    });
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
    this.worker = null;
  }
}
