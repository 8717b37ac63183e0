// The one command-line reader of the pre-training scripts (pretrain-gemma-micro.mjs, induction-check.mjs).

/**
 * `arg(flag, default)`: the value after `flag` in `argv`, or `default` when the flag is absent. A numeric default makes
 * the value a positive number; anything else is an error naming the flag and what was expected.
 */
export function argReader(argv = process.argv) {
  return (k, d) => {
    const i = argv.indexOf(k);
    if (i < 0) return d;
    const v = argv[i + 1];
    if (typeof d === 'number') {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) throw new Error(`${k}: expected a positive number, got ${JSON.stringify(v)}`);
      return n;
    }
    if (v === undefined) throw new Error(`${k}: expected a value`);
    return v;
  };
}
