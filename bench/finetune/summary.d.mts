// Types of bench/finetune/summary.mjs, for the tests.
export interface GridChoice { grid: { lr: number; validLoss: number | null; diverged: boolean }[]; chosen: number | null; by: string }
export function chooseLearningRates(results: { group: string; name0?: string; lr: number; finalEvalLoss: number | null; diverged?: boolean }[]): Record<string, GridChoice>;
export function novelLiteralAccuracy(
  report: { testSuite: unknown; examples: { goldLiterals: string[]; testSuiteMatch: boolean | null; executionMatch: boolean }[] },
  trainLiterals: Set<string>,
): { n: number; correct?: number; rate?: number; ci95?: [number, number]; metric?: string };
export function trainLiteralSet(sqlDir: string): Set<string>;
