// Types of scripts/synthetic-copy.mjs, for the tests.
export const GEMMA_MICRO_CONFIG: Readonly<Record<string, unknown>>;
export const FIRST_SPAN_ID: number;
export interface SpanRow { inputIds: number[]; labels: number[]; scored: number[] }
export function repeatedSpanRows(count: number, seq: number, opts: { vocabSize: number; idLimit?: number; minLen: number; maxLen: number; repeats: number; bosId: number; seed: number }): SpanRow[];
