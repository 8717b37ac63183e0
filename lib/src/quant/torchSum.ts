/**
 * `torch.sum` / `torch.mean` of a 1-D float32 tensor on the CPU, bit for bit. bitsandbytes' double quantization
 * stores `nested_offset = absmax.mean()`, and a float64 sum rounded once differs from PyTorch's in the last bit for
 * about one state in seven. PyTorch (ATen `native/cpu/SumKernel.cpp`, `cascade_sum`) adds float32 values in float32,
 * in this order:
 *
 * - the data is read as vectors of `lanes` floats (8 with AVX2 or the default kernels, 16 with AVX512); each lane is
 *   summed on its own over the n / lanes whole vectors, by `row_sum`; the < lanes leftover elements are summed into
 *   a scalar, and then the lanes are added to that scalar in order (fewer than `lanes` elements: one scalar `row_sum`);
 * - `row_sum` (ilp 4) splits its sequence into 4 interleaved rows (element 4i + k goes to row k), sums them with
 *   `multi_row_sum`, adds the leftover tail to row 0, then rows 1, 2, 3 to row 0;
 * - `multi_row_sum` keeps 4 accumulator levels: level 0 takes `2^p` elements at a time
 *   (p = max(4, ⌈log2 size⌉ / 4)), is then carried into level 1, level 1 into level 2 every `2^p` carries, and so on
 *   (a cascade, so that only numbers of similar size are added); at the end levels 1..3 are added into level 0;
 * - with T > 1 threads and n ≥ 32768 (`GRAIN_SIZE`) the range is cut into ⌈n / ⌈n / T'⌉⌉ chunks, T' = min(T, ⌈n / 32768⌉),
 *   each summed as above, and the T per-thread sums (zeros for idle threads) are summed again the same way.
 *
 * `mean = sum / n`, one float32 division (`at::sum(...).div_(n)` on the CPU).
 */
const fr = Math.fround;

export interface TorchSumOptions {
  /** floats per SIMD vector of the kernel PyTorch dispatched: 8 (AVX2, default kernels) or 16 (AVX512). */
  lanes?: 8 | 16;
  /** `torch.get_num_threads()`; matters only from 32768 elements on. Default 1. */
  threads?: number;
}

const GRAIN_SIZE = 32768;

/** utils::CeilLog2: ⌈log2 x⌉, and 1 for x ≤ 2. */
function ceilLog2(x: number): number {
  let b = 1;
  while (2 ** b < x) b++;
  return b;
}

/** multi_row_sum with 4 rows: row k's element i is get(4i + k); returns the 4 row sums. */
function multiRowSum4(get: (j: number) => number, size: number): [number, number, number, number] {
  const levels = 4;
  const power = Math.max(4, Math.floor(ceilLog2(size) / levels));
  const step = 2 ** power;
  const acc = [new Float64Array(4), new Float64Array(4), new Float64Array(4), new Float64Array(4)];
  let i = 0;
  while (i + step <= size) {
    for (let j = 0; j < step; j++, i++) for (let k = 0; k < 4; k++) acc[0][k] = fr(acc[0][k] + get(4 * i + k));
    for (let j = 1; j < levels; j++) {
      for (let k = 0; k < 4; k++) {
        acc[j][k] = fr(acc[j][k] + acc[j - 1][k]);
        acc[j - 1][k] = 0;
      }
      // (i & (mask << j·power)) != 0: i is not a multiple of 2^(power·(j+1))
      if (Math.floor(i / 2 ** (j * power)) % step !== 0) break;
    }
  }
  for (; i < size; i++) for (let k = 0; k < 4; k++) acc[0][k] = fr(acc[0][k] + get(4 * i + k));
  for (let j = 1; j < levels; j++) for (let k = 0; k < 4; k++) acc[0][k] = fr(acc[0][k] + acc[j][k]);
  return [acc[0][0], acc[0][1], acc[0][2], acc[0][3]];
}

/** row_sum: the sum of get(0..size-1) in PyTorch's order. */
function rowSum(get: (j: number) => number, size: number): number {
  const ilp = Math.floor(size / 4);
  const p = multiRowSum4(get, ilp);
  for (let i = ilp * 4; i < size; i++) p[0] = fr(p[0] + get(i));
  for (let k = 1; k < 4; k++) p[0] = fr(p[0] + p[k]);
  return p[0];
}

/** One call of the reduction loop over x[begin, end) (vectorized_inner_sum, or the scalar row_sum when short). */
function loopSum(x: ArrayLike<number>, begin: number, end: number, lanes: number): number {
  const n = end - begin;
  if (n < lanes) return fr(0 + rowSum((j) => x[begin + j], n));
  const vecSize = Math.floor(n / lanes);
  let total = 0;
  for (let k = vecSize * lanes; k < n; k++) total = fr(total + x[begin + k]);
  for (let l = 0; l < lanes; l++) total = fr(total + rowSum((j) => x[begin + j * lanes + l], vecSize));
  return fr(0 + total);
}

/** torch.sum(x) for a contiguous 1-D float32 tensor on the CPU. */
export function torchSumF32(x: Float32Array, opts: TorchSumOptions = {}): number {
  const lanes = opts.lanes ?? 8;
  const threads = Math.max(1, Math.floor(opts.threads ?? 1));
  const n = x.length;
  if (n < GRAIN_SIZE || threads === 1) return loopSum(x, 0, n, lanes);
  const used = Math.min(threads, Math.ceil(n / GRAIN_SIZE));
  const chunk = Math.ceil(n / used);
  const partial = new Float32Array(threads);
  for (let t = 0; t * chunk < n; t++) partial[t] = loopSum(x, t * chunk, Math.min(n, (t + 1) * chunk), lanes);
  return loopSum(partial, 0, threads, lanes);
}

/** torch.mean(x) for a contiguous 1-D float32 tensor on the CPU: the float32 sum divided by n in float32. */
export function torchMeanF32(x: Float32Array, opts: TorchSumOptions = {}): number {
  return x.length ? fr(torchSumF32(x, opts) / x.length) : NaN;
}
