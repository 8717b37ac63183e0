/// <reference lib="webworker" />
/**
 * The QLoRA demo's SQL worker: SQLite (sql.js) with the task's database, built once from schema.sql and data.sql;
 * every query runs on a fresh copy through the grader's own runReadOnlyQuery (lib/src/sql/statement.ts: one
 * read-only SELECT/WITH, row and byte caps), as `loralab eval` runs it in Node. The page (sqlClient.ts) stops this
 * worker when a query passes its time limit and starts a new one. Bundled by site/scripts/demoAssets.mjs.
 */
import initSqlJs from 'sql.js';
import { runReadOnlyQuery, type SqlJsLike } from '../../../lib/src/sql/statement.js';
import { DEFAULT_SQL_LIMITS } from '../../../lib/src/sql/database.js'; // its Node imports are stubbed in the bundle
import type { FromSql, ToSql } from './protocol';

const scope = self as unknown as DedicatedWorkerGlobalScope;
const post = (m: FromSql) => scope.postMessage(m);
let db: { SQL: SqlJsLike; bytes: Uint8Array } | null = null;

scope.onmessage = async (e: MessageEvent<ToSql>) => {
  const m = e.data;
  if (m.type === 'init') {
    try {
      const SQL = await initSqlJs({ locateFile: () => m.wasm });
      const d = new SQL.Database();
      d.exec(m.schema);
      d.exec(m.data);
      db = { SQL: SQL as unknown as SqlJsLike, bytes: d.export() };
      d.close();
      // SQLite's process-wide heap limit: a query that allocates past it fails with "out of memory"
      const setup = new SQL.Database();
      setup.exec(`PRAGMA hard_heap_limit = ${DEFAULT_SQL_LIMITS.sqliteHeapMb * 1048576};`);
      setup.close();
      post({ type: 'ready' });
    } catch (err) {
      post({ type: 'fatal', error: err instanceof Error ? err.message : String(err) });
    }
    return;
  }
  if (!db) return post({ type: 'result', id: m.id, error: 'the database is not loaded' });
  try {
    post({ type: 'result', id: m.id, ...runReadOnlyQuery(db.SQL, db.bytes, m.sql, DEFAULT_SQL_LIMITS) });
  } catch (err) {
    post({ type: 'result', id: m.id, error: err instanceof Error ? err.message : String(err) });
  }
};
