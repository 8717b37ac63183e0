import { LoraLabError } from '../util/errors.js';

/** The text-to-SQL task's files or data are not what the grader needs (a missing schema.sql, a gold query that fails). */
export class SqlTaskError extends LoraLabError {
  override name = 'SqlTaskError';
}
