// Float32 matmul throughput (GFLOP/s = 2·M·K·N / seconds): LoRA Lab's matmul path with the native BLAS kernel on,
// the same path on TF.js's own wasm kernel (what runs without the addon: x·Wᵀ as (W·xᵀ)ᵀ), and PyTorch (Debian's
// torch, 2 threads, its BLAS) — interleaved in one run, round by round, medians — next to the machine's theoretical
// peak. "B transposed" is x·Wᵀ with W stored [N, K], as in every linear layer.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { initBackend, setNativeKernels, nativeStatus, tf } from '../lib/dist/backend/index.js';
import { productXWt } from '../lib/dist/layers/linear.js';
import { median } from './timing.mjs';
import { torchAvailable } from './torchRef.mjs';

const SHAPES = [[128, 2048, 2048], [512, 256, 768], [1024, 1024, 1024], [128, 2048, 16384]];
const ROUNDS = Number(process.env.GEMM_ROUNDS ?? 7);
/** Each timed sample is the median of as many products, each timed alone, as fill about this long. */
const SAMPLE_SECONDS = 0.05;
const THREADS = 2;

/**
 * Theoretical float32 peak: cores × GHz × flops per cycle, assuming two FMA pipes per core (every x86 core with AVX2
 * since Haswell/Zen 2): 16 lanes × 2 × 2 = 64 with AVX-512, 8 × 2 × 2 = 32 with AVX2+FMA, 16 with AVX, 8 with SSE.
 */
export function theoreticalPeak(cpuinfo = readFileSync('/proc/cpuinfo', 'utf8'), cores = os.cpus().length) {
  const flags = new Set((/^flags\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? '').split(/\s+/));
  const mhz = Number(/^cpu MHz\s*:\s*([\d.]+)/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.speed ?? 0);
  const [isa, perCycle] = flags.has('avx512f') ? ['AVX-512', 64] : flags.has('avx2') && flags.has('fma') ? ['AVX2+FMA', 32] : flags.has('avx') ? ['AVX', 16] : ['SSE', 8];
  const perCore = (mhz / 1000) * perCycle;
  return { isa, ghz: mhz / 1000, flopsPerCycle: perCycle, cores, gflopsPerCore: perCore, gflops: perCore * cores, assumption: 'two FMA pipes per core, at the clock /proc/cpuinfo reports' };
}

/** PyTorch's side: bench/torch/gemm.py as a server, asked for one timing at a time (so it interleaves with ours). */
async function torchServer() {
  const have = torchAvailable();
  if (!have.ok) return { info: { unavailable: have.why }, time: null, close() {} };
  const python = process.env.LORALAB_PYTHON ?? '/usr/bin/python3';
  const child = spawn(python, [new URL('./torch/gemm.py', import.meta.url).pathname, '--threads', String(THREADS), '--serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error('bench/torch/gemm.py exited early');
    return JSON.parse(value);
  };
  const info = await next();
  return {
    info: { ...info, python },
    async time(M, K, N, transB, reps) {
      child.stdin.write(`${JSON.stringify({ M, K, N, transB, reps })}\n`);
      return (await next()).seconds;
    },
    close() {
      child.stdin.end();
    },
  };
}

/**
 * A pause before each sample. Both sides' BLAS threads are OpenMP (or pthread) workers that spin for a few
 * milliseconds after a product before they sleep; without the pause, whichever side is timed right after the other
 * shares the cores with the other's spinning threads (measured: up to 30 % off the shortest products).
 */
const SETTLE_MS = 100;
const settle = () => new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

/**
 * Median seconds of `reps` calls of f, each timed alone and its result freed outside the timer (TF.js's wasm kernels
 * run synchronously inside the op): the same statistic as bench/torch/gemm.py's, which times each product and
 * deletes its output untimed.
 */
function timeOnce(f, reps) {
  globalThis.gc?.();
  const times = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const y = f();
    times.push(performance.now() - t0);
    tf.dispose(y);
  }
  return median(times) / 1000;
}

export async function run() {
  const loadAverageAtStart = os.loadavg();
  const backend = await initBackend({ log: false });
  if (backend.name !== 'wasm') throw new Error(`bench gemm measures the wasm backend; LORALAB_BACKEND chose '${backend.name}'`);
  const native = nativeStatus();
  const hasNative = setNativeKernels(true);
  const torch = await torchServer();
  const cases = [];
  for (const [M, K, N] of SHAPES) {
    for (const transB of [false, true]) {
      const a = tf.randomNormal([M, K]);
      const b = tf.randomNormal(transB ? [N, K] : [K, N]);
      const variants = {};
      if (hasNative) variants.loralabNative = () => { setNativeKernels(true); return () => tf.matMul(a, b, false, transB); };
      // without the addon, LoRA Lab's linear layers take the wasm kernel's fast path: (W·xᵀ)ᵀ
      variants.loralabWasm = () => { setNativeKernels(false); return () => (transB ? productXWt(a, b) : tf.matMul(a, b)); };
      // TF.js's own x·Bᵀ (the scalar loop) once, on the smallest shape: why the workaround exists
      if (transB && M * K * N <= 512 * 256 * 768) variants.wasmTransposedKernel = () => { setNativeKernels(false); return () => tf.matMul(a, b, false, true); };
      const reps = {};
      for (const [k, make] of Object.entries(variants)) {
        const f = make();
        const t = timeOnce(f, 1);
        reps[k] = Math.max(1, Math.ceil(SAMPLE_SECONDS / t));
      }
      const torchReps = torch.time ? Math.max(1, Math.ceil(SAMPLE_SECONDS / (await torch.time(M, K, N, transB, 1)))) : 0;
      const samples = Object.fromEntries([...Object.keys(variants), ...(torch.time ? ['pytorch'] : [])].map((k) => [k, []]));
      process.stderr.write(`  gemm ${M}×${K}×${N}${transB ? ' (B transposed)' : ''}...\n`);
      for (let r = 0; r < ROUNDS; r++) {
        for (const [k, make] of Object.entries(variants)) {
          await settle();
          samples[k].push(timeOnce(make(), reps[k]));
        }
        await settle();
        if (torch.time) samples.pytorch.push(await torch.time(M, K, N, transB, torchReps));
      }
      setNativeKernels(hasNative);
      tf.dispose([a, b]);
      const flop = 2 * M * K * N;
      const gflops = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, flop / median(v) / 1e9]));
      cases.push({
        M, K, N, transB, gflops,
        ratios: {
          ...(gflops.loralabNative && gflops.pytorch ? { nativeToPyTorch: gflops.loralabNative / gflops.pytorch } : {}),
          ...(gflops.loralabNative ? { nativeToWasm: gflops.loralabNative / gflops.loralabWasm } : {}),
          ...(gflops.pytorch ? { wasmToPyTorch: gflops.loralabWasm / gflops.pytorch } : {}),
        },
        medianSeconds: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)])),
        repsPerSample: { ...reps, ...(torch.time ? { pytorch: torchReps } : {}) },
      });
    }
  }
  torch.close();
  const peak = theoreticalPeak();
  for (const c of cases) c.fractionOfPeak = Object.fromEntries(Object.entries(c.gflops).map(([k, v]) => [k, v / peak.gflops]));
  return {
    name: 'gemm',
    what: 'float32 matmul GFLOP/s (2·M·K·N / the median over interleaved rounds of the median call in each round, both sides timing each call alone and freeing its output untimed): LoRA Lab with the native BLAS kernel, LoRA Lab on TF.js wasm kernels, PyTorch (CPU); B transposed = x·Wᵀ with W stored [N, K]',
    rounds: ROUNDS,
    loadAverage: { start: loadAverageAtStart, end: os.loadavg() },
    native,
    pytorch: torch.info,
    peak,
    cases,
  };
}
