// Types of the parts of scripts/corpus-text.mjs that the tests read.
/** A seeded source of numbers in [0, 1), e.g. lib's Rng. */
export interface RandomSource { next(): number }
/** Drawing helpers over one RandomSource (see drawer in corpus-text.mjs). */
export interface Drawer {
  rng: RandomSource;
  u(): number;
  pick<T>(xs: readonly T[]): T;
  int(a: number, b: number): number;
  chance(p: number): boolean;
  distinct<T>(k: number, draw: () => T): T[];
}
export const COPY_KINDS: string[];
export const MONTHS: string[];
export function drawer(rng: RandomSource): Drawer;
export function copyItem(g: Drawer, kind: string): { prefix: string; target: string; suffix: string };
export function spanDrill(g: Drawer): { text: string; span: string; repeats: number };
export function recallDrill(g: Drawer): { text: string; pairs: [string, string][]; asked: [string, string][] };
export function listDrill(g: Drawer): { text: string; list: string; repeats: number };
