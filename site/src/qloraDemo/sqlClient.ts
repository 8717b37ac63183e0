/**
 * The page's handle on the SQL worker (sql.worker.ts), shaped as the grader's SqlRunner so that LoRA Lab's own
 * gradeSql grades the demo's answers: each query has a time limit, and a query that passes it stops the worker
 * (a runaway SQLite query cannot be interrupted otherwise); the next query starts a fresh one.
 */
import type { SqlResult } from '../../../lib/src/sql/database.js';
import type { SqlRunner } from '../../../lib/src/sql/grade.js';
import type { FromSql, ToSql } from './protocol';

export interface SqlSetup {
  workerUrl: string;
  wasm: string;
  schema: string;
  data: string;
}

export class BrowserSqlDatabase implements SqlRunner {
  private worker: Promise<Worker> | null = null;
  private nextId = 0;

  constructor(private readonly setup: SqlSetup) {}

  private start(): Promise<Worker> {
    this.worker ??= new Promise<Worker>((resolve, reject) => {
      const w = new Worker(this.setup.workerUrl, { type: 'module' });
      w.onmessage = (e: MessageEvent<FromSql>) => {
        if (e.data.type === 'ready') resolve(w);
        else if (e.data.type === 'fatal') reject(new Error(`the task's database did not load: ${e.data.error}`));
      };
      w.onerror = (e) => reject(new Error(`the SQL worker failed to start (${e.message || this.setup.workerUrl})`));
      const init: ToSql = { type: 'init', wasm: this.setup.wasm, schema: this.setup.schema, data: this.setup.data };
      w.postMessage(init);
    });
    this.worker.catch(() => { this.worker = null; });
    return this.worker;
  }

  async run(sql: string, opts: { timeoutMs?: number } = {}): Promise<SqlResult> {
    const w = await this.start();
    const id = this.nextId++;
    const timeoutMs = opts.timeoutMs ?? 2000;
    return new Promise<SqlResult>((resolve) => {
      const timer = setTimeout(() => {
        w.removeEventListener('message', onMsg);
        w.terminate();
        this.worker = null;
        resolve({ ok: false, error: `timed out after ${timeoutMs} ms` });
      }, timeoutMs);
      const onMsg = (e: MessageEvent<FromSql>) => {
        const m = e.data;
        if (m.type !== 'result' || m.id !== id) return;
        clearTimeout(timer);
        w.removeEventListener('message', onMsg);
        resolve('error' in m ? { ok: false, error: m.error } : { ok: true, columns: m.columns, rows: m.rows });
      };
      w.addEventListener('message', onMsg);
      const msg: ToSql = { type: 'run', id, sql };
      w.postMessage(msg);
    });
  }

  close(): void {
    void this.worker?.then((w) => w.terminate(), () => {});
    this.worker = null;
  }
}
