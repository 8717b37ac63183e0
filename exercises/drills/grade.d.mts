// Types for grade.mjs (the rules shared by the terminal quiz and the site's quiz).

export interface DrillOption { text: string; correct: boolean; explanation: string }
export interface RubricPoint { point: string; keywords?: string[] }
export interface Misconception { text: string; patterns: string[]; why: string }
export type DrillUnit = '' | '%' | 'bytes' | 'KB' | 'MB' | 'GB' | 'TB' | 'KiB' | 'MiB' | 'GiB' | 'bits' | 'parameters' | 'FLOPs' | '×' | '× N';

export interface McqQuestion { id: string; type: 'mcq'; prompt: string; options: DrillOption[] }
export interface NumericQuestion {
  id: string; type: 'numeric'; prompt: string; answer: number; unit: DrillUnit; worked: string;
  tolerance: { kind: 'absolute' | 'relative'; value: number };
}
export interface ShortQuestion { id: string; type: 'short'; prompt: string; modelAnswer: string; rubric: RubricPoint[]; misconceptions: Misconception[] }
export type DrillQuestion = McqQuestion | NumericQuestion | ShortQuestion;
/** A question as one attempt shows it; order[i] is the file's index of the option shown at i (empty unless mcq). */
export type PresentedQuestion = DrillQuestion & { order: number[] };

export type Read<T> = ({ ok: true } & T) | { ok: false; message: string };
export type Grade =
  | { valid: false; message: string }
  | { valid: true; selfAssess: true }
  | { valid: true; selfAssess?: undefined; correct: boolean; feedback: string; read?: string; misconceptions?: Misconception[] };

export const UNITS: Record<DrillUnit, { dim: string; factor: number; aliases: string[] }>;
export function seededRandom(seed: number | string): () => number;
export function shuffled<T>(items: readonly T[], rand: () => number): T[];
export function presentQuestion<Q extends DrillQuestion>(q: Q, rand: () => number): Q & { order: number[] };
export function formatNumber(v: number): string;
export function formatQuantity(v: number, unit: DrillUnit): string;
export function readNumber(text: string, unit?: DrillUnit): Read<{ value: number; read: string }>;
export function readChoice(text: string, optionCount: number): Read<{ index: number }>;
export function misconceptionsIn(q: { misconceptions?: Misconception[] }, text: string): Misconception[];
export function gradeAnswer(q: DrillQuestion, answer: string, covered?: boolean[]): Grade;
export function mentionedKeywords(q: ShortQuestion, text: string): string[][];
