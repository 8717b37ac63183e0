// Types of scripts/copy-probe.mjs, for the tests.
export interface ProbeItem { context: string; target: string; kind: string }
export interface Rate { correct: number; n: number; rate: number; ci95: [number, number] }
export interface ProbeScore {
  overall: Rate;
  perKind: Record<string, Rate>;
  failures: { kind: string; context: string; target: string; generated: string }[];
}
export function wilson(k: number, n: number, z?: number): [number, number];
export function copyMatch(target: string, generated: string): boolean;
export function readProbe(path: string): ProbeItem[];
export function scoreCopyProbe(items: ProbeItem[], outputs: string[], opts?: { keepFailures?: number }): ProbeScore;
export function runCopyProbe(items: ProbeItem[], decode: (contexts: string[], targets: string[]) => string[] | Promise<string[]>): Promise<ProbeScore>;
