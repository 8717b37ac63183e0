/**
 * Test-suite execution accuracy (Zhong, Yu and Klein 2020, "Semantic Evaluation for Text-to-SQL with Distilled Test
 * Suites"): a prediction counts only if it returns the gold query's result on the shipped database and on every
 * variant of it. A query with a wrong literal (`city = 'Oslo'` for `city = 'Vienna'`) can return the gold's rows on
 * one database by coincidence — the same count — but not on several databases whose rows were drawn again.
 *
 * The variants come from the generator that made the shipped rows (taskRows.ts), with other seeds and skewed
 * weights; so they exist only for a folder whose data.sql is that generator's output, which is checked.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqlDatabase, type SqlLimits } from './database.js';
import { SHIPPED_SEED, shippedTaskRows, taskRowsToSql, variantTaskRows } from './taskRows.js';
import { SqlTaskError } from './errors.js';

export interface TestSuite {
  variants: { seed: number; db: SqlDatabase }[];
  close(): Promise<void>;
}

/** The seeds of the first `count` variants: SHIPPED_SEED + 1, + 2, … (fixed, so every run grades on the same suite). */
export const variantSeeds = (count: number): number[] => Array.from({ length: count }, (_, k) => SHIPPED_SEED + 1 + k);

/**
 * `count` variants of the task database in `dir`, or the reason there can be none: the folder's data.sql must be
 * byte for byte what scripts/make-sql-dataset.mjs writes (datasets/sql), since only then are its rows known to come
 * from the generator that re-draws them.
 */
export async function openTestSuite(dir: string, count: number, limits: Partial<SqlLimits> = {}): Promise<TestSuite | { unavailable: string }> {
  if (!Number.isInteger(count) || count < 1) throw new SqlTaskError(`got ${count} variants`, { file: 'openTestSuite', field: 'count', expected: '1 or more variants' });
  const schemaPath = join(dir, 'schema.sql');
  const dataPath = join(dir, 'data.sql');
  if (!existsSync(schemaPath) || !existsSync(dataPath)) throw new SqlTaskError('no schema.sql or data.sql', { file: dir, expected: "the task's database folder" });
  const { rows } = shippedTaskRows();
  if (readFileSync(dataPath, 'utf8') !== taskRowsToSql(rows)) {
    return { unavailable: `${dataPath} is not the task generator's rows (seed ${SHIPPED_SEED}), so LoRA Lab cannot re-draw it into variants` };
  }
  const schema = readFileSync(schemaPath, 'utf8');
  const seeds = variantSeeds(count);
  const dbs = await Promise.all(seeds.map((seed) => SqlDatabase.fromSql(`${dir} (variant ${seed})`, schema, taskRowsToSql(variantTaskRows(seed, rows)), limits)));
  return {
    variants: seeds.map((seed, i) => ({ seed, db: dbs[i] })),
    close: async () => {
      await Promise.all(dbs.map((d) => d.close()));
    },
  };
}
