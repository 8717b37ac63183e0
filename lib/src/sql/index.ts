/**
 * The text-to-SQL task's grader: SQLite in a worker; execution, test-suite execution, exact match and literal
 * accuracy with 95 % intervals; the generator of the task's rows and of the test suite's variants.
 */
export * from './database.js';
export * from './grade.js';
export * from './testSuite.js';
export * from './taskRows.js';
export * from './tokens.js';
export * from './errors.js';
export { wilson, rate, meanInterval, Z95, type Rate, type MeanInterval } from '../util/stats.js';
