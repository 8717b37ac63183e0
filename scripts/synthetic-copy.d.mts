// Types of scripts/synthetic-copy.mjs, for the tests.
export const GEMMA_MICRO_CONFIG: Readonly<Record<string, unknown>>;
export const FIRST_SPAN_ID: number;
export interface SpanRow { inputIds: number[]; labels: number[]; scored: number[] }
export interface RecallRow { inputIds: number[]; labels: number[] }
/** Anything with next() in [0, 1), as lib's Rng. */
export interface UniformSource { next(): number }
export function repeatedSpanRows(count: number, seq: number, opts: { vocabSize: number; idLimit?: number; minLen: number; maxLen: number; repeats: number; bosId: number; seed: number; idWeights?: Float64Array; weightedShare?: number }): SpanRow[];
export function corpusIdWeights(rows: readonly { inputIds: readonly number[] }[], vocabSize: number, power: number): Float64Array;
export function weightedIds(weights: Float64Array): (rng: UniformSource) => number;
export function recallRows(count: number, seq: number, opts: { draw: (rng: UniformSource) => number; keyLen: [number, number]; valueLen: [number, number]; minPairs: number; maxPairs: number; sep: number[]; end: number[]; bosId: number; seed: number; templated?: number; fillerLen?: [number, number]; prefixLen?: [number, number] }): RecallRow[];
