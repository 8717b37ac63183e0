// Timing helpers shared by the benchmarks: medians of interleaved runs, so that drift in machine speed (these
// machines are noisy) hits every variant alike and ratios from one run stay meaningful.

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * Median seconds per call of each function: one warm-up call each, then `rounds` rounds that call every function
 * once, in turn (with a garbage collection before each call when node runs with --expose-gc).
 */
export function timeRoundRobin(fns, rounds) {
  const ts = Object.fromEntries(Object.keys(fns).map((k) => [k, []]));
  for (const f of Object.values(fns)) f();
  for (let r = 0; r < rounds; r++) {
    for (const [k, f] of Object.entries(fns)) {
      globalThis.gc?.();
      const t0 = performance.now();
      f();
      ts[k].push((performance.now() - t0) / 1000);
    }
  }
  return Object.fromEntries(Object.entries(ts).map(([k, v]) => [k, median(v)]));
}
