// Types of scripts/make-copy-probe.mjs, for the tests.
import type { ProbeItem } from './copy-probe.mjs';
export const PROBE_SEED: number;
export const PER_KIND: number;
export function makeCopyProbe(corpus: string, opts?: { seed?: number; perKind?: number }): ProbeItem[];
