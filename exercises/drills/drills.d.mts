// Types for drills.mjs (loading the section files; the grading rules are grade.mjs's).
import type { DrillQuestion } from './grade.mjs';

export * from './grade.mjs';
export interface DrillSection { section: number; title: string; notebook: string; questions: (DrillQuestion & { compute?: { fn: string; args: Record<string, unknown> } })[] }
export class DrillFormatError extends Error {}
/** Every section-N.json in `from` (default: this folder), validated; throws DrillFormatError naming file and field. */
export function loadDrills(from?: string): DrillSection[];
