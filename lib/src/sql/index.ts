/** The text-to-SQL task's grader: SQLite in a worker, execution accuracy, exact match. */
export * from './database.js';
export * from './grade.js';
