// Types of bench/finetune/plan.mjs, for the tests.
export type Method = 'lora' | 'qlora' | 'full' | 'adapter' | 'prefix';
export interface PlanRow {
  group: string;
  name: string;
  /** The headline configuration whose learning-rate grid a 'tuned' run uses. */
  name0?: string;
  method: Method | null;
  r?: number;
  loraAlpha?: number;
  rslora?: { alpha: number };
  targets?: string;
  seed?: number;
  lr?: number | 'tuned';
  measure: 'valid-loss' | 'sql' | 'corpus-loss' | 'teacher' | 'kl';
  /** The trained run a forgetting measurement reads. */
  of?: string;
  needs?: string[];
  /** Another run of the plan with the same training: its result is reused. */
  sameAs?: string;
  planted?: typeof PLANTED;
}
export interface ModelShape { hidden_size: number; num_attention_heads: number; num_key_value_heads: number; head_dim: number; intermediate_size: number; num_hidden_layers: number }
export const LR_GRID: Record<Method, number[]>;
export const HEADLINE: { name: string; method: Method; r?: number }[];
export const RANKS: number[];
export const FIXED_ALPHA: number;
export const RSLORA_ALPHA: number;
export const PLANTED: { k: number; targets: string; relativeNorm: number; seed: number; trainQuestions: number; heldOutQuestions: number };
export const GROUPS: string[];
export function rsloraAsPlainAlpha(alpha: number, r: number): number;
export function loraParamsPerRank(config: ModelShape, targets: string): number;
export function targetAblation(config: ModelShape): { targets: string; r: number; trainableParameters: number }[];
export function buildPlan(config: ModelShape, opts?: { seeds?: number[]; ranks?: number[]; methods?: Method[]; gridPoints?: number }): PlanRow[];
