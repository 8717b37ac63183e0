/**
 * The text-to-SQL grader's database: SQLite (sql.js, SQLite compiled to WebAssembly) loaded from schema.sql and
 * data.sql, made read-only (`PRAGMA query_only`), and run in a worker thread so that a runaway predicted query (a
 * cross join of three tables, say) is stopped after a time limit instead of hanging the evaluation.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

export type SqlValue = number | string | Uint8Array | null;

export type SqlResult = { ok: true; columns: string[]; rows: SqlValue[][] } | { ok: false; error: string };

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const initSqlJs = require(workerData.sqlJsPath);
initSqlJs().then((SQL) => {
  const db = new SQL.Database();
  db.exec(workerData.schema);
  db.exec(workerData.data);
  db.exec('PRAGMA query_only = ON;');
  parentPort.postMessage({ ready: true });
  parentPort.on('message', ({ id, sql }) => {
    try {
      const res = db.exec(sql);
      const last = res[res.length - 1] || { columns: [], values: [] };
      parentPort.postMessage({ id, columns: last.columns, rows: last.values });
    } catch (e) {
      parentPort.postMessage({ id, error: String(e && e.message ? e.message : e) });
    }
  });
}, (e) => parentPort.postMessage({ fatal: String(e && e.message ? e.message : e) }));
`;

export class SqlDatabase {
  private worker: Worker | null = null;
  private nextId = 0;
  private readonly sqlJsPath: string;

  private constructor(readonly dir: string, private readonly schema: string, private readonly data: string) {
    this.sqlJsPath = createRequire(import.meta.url).resolve('sql.js');
  }

  /** A folder with schema.sql and data.sql (datasets/sql). */
  static async open(dir: string): Promise<SqlDatabase> {
    const read = (f: string) => {
      const p = join(dir, f);
      if (!existsSync(p)) throw new Error(`${dir}: no ${f} (expected the task's schema.sql and data.sql)`);
      return readFileSync(p, 'utf8');
    };
    const db = new SqlDatabase(dir, read('schema.sql'), read('data.sql'));
    await db.start();
    return db;
  }

  private start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { sqlJsPath: this.sqlJsPath, schema: this.schema, data: this.data } });
      const onMsg = (m: { ready?: boolean; fatal?: string }) => {
        if (m.ready) {
          w.off('message', onMsg);
          this.worker = w;
          resolve();
        } else if (m.fatal) reject(new Error(`${this.dir}: cannot load the database (${m.fatal})`));
      };
      w.on('message', onMsg);
      w.once('error', reject);
    });
  }

  /** Run one query; errors and time-outs come back as { ok: false, error }. */
  async run(sql: string, opts: { timeoutMs?: number } = {}): Promise<SqlResult> {
    if (!this.worker) await this.start();
    const w = this.worker!;
    const id = this.nextId++;
    const timeoutMs = opts.timeoutMs ?? 2000;
    return new Promise<SqlResult>((resolve) => {
      const timer = setTimeout(() => {
        w.off('message', onMsg);
        void w.terminate();
        this.worker = null; // restarted on the next query
        resolve({ ok: false, error: `timed out after ${timeoutMs} ms` });
      }, timeoutMs);
      const onMsg = (m: { id: number; columns?: string[]; rows?: SqlValue[][]; error?: string }) => {
        if (m.id !== id) return;
        clearTimeout(timer);
        w.off('message', onMsg);
        resolve(m.error !== undefined ? { ok: false, error: m.error } : { ok: true, columns: m.columns ?? [], rows: m.rows ?? [] });
      };
      w.on('message', onMsg);
      w.postMessage({ id, sql });
    });
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
    this.worker = null;
  }
}
