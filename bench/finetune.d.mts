// Types of bench/finetune.mjs, for the tests.
import type { PlanRow } from './finetune/plan.mjs';
export interface FinetuneOptions {
  only: string[] | null;
  base: string;
  steps: number;
  gridSteps: number;
  seeds: number[];
  methods: string[];
  ranks: number[];
  gridPoints: number;
  evalLimit: number | null;
  variants: number;
  batchSize: number;
  maxNewTokens: number;
  out: string;
  runsDir: string;
}
export function parseOptions(argv: string[], env?: Record<string, string | undefined>): FinetuneOptions;
export function selectRuns(plan: PlanRow[], only: string[] | null): PlanRow[];
export function run(argv?: string[]): Promise<Record<string, unknown>>;
