/**
 * A second, deliberately naive implementation of bitsandbytes' reference 4-bit quantizer, written line by line from
 * `backends/default/ops.py` with no shared code: nearest code by brute force over the sorted table, the tie rule by an
 * explicit midpoint comparison. Tests compare the library against it on random data.
 */
const fr = Math.fround;

export function referenceQuantize4bit(x: Float32Array, code: Float32Array, blocksize: number): { codes: number[]; absmax: number[] } {
  const n = x.length;
  const rem = n % blocksize;
  const full = n - rem;
  const absmax: number[] = [];
  const scaled: number[] = [];
  for (let s = 0; s < full; s += blocksize) {
    const am = Math.max(...Array.from(x.subarray(s, s + blocksize), Math.abs));
    absmax.push(am);
    const inv = fr(1 / Math.max(am, fr(1e-38)));
    for (let i = s; i < s + blocksize; i++) scaled.push(Math.min(1, Math.max(-1, fr(x[i] * inv))));
  }
  if (rem) {
    const am = Math.max(fr(1e-38), ...Array.from(x.subarray(full), Math.abs));
    absmax.push(am);
    for (let i = full; i < n; i++) scaled.push(Math.min(1, Math.max(-1, fr(x[i] / am))));
  }
  if (scaled.length % 2) scaled.push(0);
  // sorted (value, code) pairs; stable sort keeps +0 (code 0) before -0 (code 8)
  const sorted = Array.from(code, (v, c) => ({ v, c })).sort((a, b) => a.v - b.v);
  const codes = scaled.map((s) => {
    let pos = 0;
    for (let i = 0; i + 1 < sorted.length; i++) {
      const mid = fr(fr(sorted[i].v + sorted[i + 1].v) / 2);
      if (s > mid) pos = i + 1; // strictly greater: a tie stays with the lower code
    }
    return sorted[pos].c;
  });
  return { codes, absmax };
}
