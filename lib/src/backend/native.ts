/**
 * LoRA Lab's optional native kernels (lib/native): an N-API addon that calls the system's CBLAS `sgemm` on memory
 * JavaScript owns. Built by `npm install` when a C++ compiler is there; at run time it opens a BLAS with dlopen —
 * `LORALAB_BLAS` if set, else OpenBLAS (`libopenblas.so.0`, then `libblas.so.3`) on Linux, Accelerate on macOS.
 * `LORALAB_NATIVE=0` turns it off. Whatever happens, the outcome is a `NativeStatus` that says why, never a throw:
 * without it LoRA Lab runs on plain wasm.
 */
/** The addon's exports (lib/native/src/loralab_native.cc). */
export interface NativeAddon {
  /**
   * `sharedPool`: the element-wise loops run on the BLAS's own OpenMP threads (lib/native/src/parallel.h).
   * `threadTimeout`: OPENBLAS_THREAD_TIMEOUT as the BLAS loaded with it (the addon sets 8 unless it was set).
   */
  open(candidates: string[]): { path: string; file: string | null; config: string | null; threads: number | null; sharedPool: boolean; kernelThreads: number; threadTimeout: string | null };
  setThreads(n: number): number | null;
  sgemm(
    heap: ArrayBuffer, transA: boolean, transB: boolean, M: number, N: number, K: number,
    aOffset: number, bOffset: number, cOffset: number, batch: number, aIndex?: Int32Array, bIndex?: Int32Array,
  ): void;
  /** y = gelu_tanh(x) over n floats at byte offsets x, y of heap (threaded). */
  geluTanh(heap: ArrayBuffer, x: number, y: number, n: number): void;
  /** dx = dy · gelu_tanh'(x) over n floats. */
  geluTanhGrad(heap: ArrayBuffer, x: number, dy: number, dx: number, n: number): void;
  /** y = eˣ over n floats (threaded). */
  exp(heap: ArrayBuffer, x: number, y: number, n: number): void;
  /** heap floats at byte offset `out` = the bf16 patterns src[start, start + n) as float32 (exact; threaded). */
  bf16ToF32(src: Uint16Array, start: number, heap: ArrayBuffer, out: number, n: number): void;
  /**
   * n 4-bit codes dequantized, `out[e] = code[nibble(e)] · absmax[e / blocksize]` (rounded to bf16 values when
   * `roundBf16`), written as float32 at byte offset `out` of heap; blocksize even; AVX2 where the CPU has it, threaded.
   */
  dequant4bit(packed: Uint8Array, absmax: Float32Array, code: Float32Array, blocksize: number, n: number, heap: ArrayBuffer, out: number, roundBf16: boolean): void;
  /** Double quantization undone into `out`: out[i] = nestedCode[q[i]] · nestedAbsmax[i / nestedBlocksize] + offset, in float32. */
  recoverAbsmax(qabsmax: Uint8Array, nestedAbsmax: Float32Array, nestedCode: Float32Array, nestedBlocksize: number, offset: number, out: Float32Array): void;
  /** Threads of the element-wise kernels (default: the BLAS's thread count, else the machine's cores). */
  setKernelThreads(n: number): number;
  /** Whether the element-wise loops may run on the BLAS's OpenMP pool (lib/native/src/parallel.h); returns whether they do. */
  setSharedPool(on: boolean): boolean;
  /**
   * One Gemma decoder layer's forward (backward = false) or backward pass on heap tensors, every argument a field of
   * `desc` in the order `gemmaLayerFields` names (native/src/gemma_layer.cc; models/gemma/fusedLayer.ts builds it);
   * `quant` gives each projection's 4-bit weight (codes, absmax, codebook, blocksize), or null where it is dense.
   */
  gemmaLayer(heap: ArrayBuffer, desc: Float64Array, backward: boolean, quant?: ([Uint8Array, Float32Array, Float32Array, number] | null)[]): void;
  /** The descriptor's field names, comma-separated, in order. */
  gemmaLayerFields: string;
  /**
   * The causal LM loss through a frozen tied head E [V, d] (float32, or bf16 patterns): returns the mean over
   * positions with a target (targets[n] ≥ 0) of lse − z[target], and writes dL/dh [N, d] at byte offset dh. All
   * N·V logits are kept for the gradient when they are at most `maxLogits`, else each chunk is computed twice; a bf16
   * table is expanded `chunkValues` values at a time.
   */
  headLoss(heap: ArrayBuffer, h: number, N: number, d: number, table: Float32Array | Uint16Array, V: number, targets: Int32Array, count: number, dh: number, maxLogits: number, chunkValues: number): number;
  /**
   * AdamW over many tensors (native/src/optim.cc): `desc` holds [θ, θ', g, m, v, n] per tensor (byte offsets, then the
   * element count), `consts` [lr, β1, β2, ε, λ, bc1, bc2, gradScale]; m, v in place, θ' = the new θ.
   */
  adamw(heap: ArrayBuffer, desc: Float64Array, consts: Float64Array): void;
  /** Σ g² (in double) over the tensors `desc` lists as [byte offset, n] pairs. */
  sumSquares(heap: ArrayBuffer, desc: Float64Array): number;
}

/** Every function this version of LoRA Lab calls; an addon built from older sources lacks some and is not used. */
const ADDON_FUNCTIONS = ['open', 'setThreads', 'sgemm', 'geluTanh', 'geluTanhGrad', 'exp', 'setKernelThreads', 'setSharedPool', 'bf16ToF32', 'dequant4bit', 'recoverAbsmax', 'gemmaLayer', 'headLoss', 'adamw', 'sumSquares'] as const satisfies readonly (keyof NativeAddon)[];

export type NativeStatus =
  | { state: 'on'; library: string; threads: number | null; path: string; file: string | null; sharedPool: boolean; threadTimeout: string | null }
  | { state: 'off' | 'unbuilt' | 'no-blas' | 'unsupported'; why: string };

/** Where LoRA Lab looks for a CBLAS on this platform (the first that loads and exports cblas_sgemm wins). */
export function blasCandidates(platform: string, env: Record<string, string | undefined>): string[] {
  if (env.LORALAB_BLAS) return [env.LORALAB_BLAS];
  if (platform === 'darwin') return ['/System/Library/Frameworks/Accelerate.framework/Accelerate'];
  return ['libopenblas.so.0', 'libblas.so.3', 'libopenblas.so'];
}

/** How to get a BLAS where none was found. */
export function blasHint(platform: string): string {
  return platform === 'darwin' ? 'Accelerate did not load' : 'install libopenblas0-pthread';
}

/**
 * The BLAS's name for the one-line report: "OpenBLAS 0.3.21" from OpenBLAS's config string, "Accelerate", or the
 * library file. Netlib's reference BLAS (Debian's libblas3) is recognised so that it can be refused: its sgemm is a
 * plain triple loop, slower than TF.js's own wasm matmul.
 */
export function blasName(opened: { path: string; file: string | null; config: string | null }): { name: string; reference: boolean } {
  const m = opened.config && /OpenBLAS\s+([\d.]+)/.exec(opened.config);
  if (m) return { name: `OpenBLAS ${m[1]}`, reference: false };
  const file = opened.file ?? opened.path;
  if (/Accelerate/.test(file)) return { name: 'Accelerate', reference: false };
  return { name: file.replace(/^.*\//, ''), reference: /\/blas\/libblas\.so/.test(file) };
}

/**
 * Decide the native status from the environment and a loader (injected, so that every branch is testable): the
 * loader returns the addon, or null when it is not built.
 */
export function resolveNative(env: Record<string, string | undefined>, platform: string, load: () => NativeAddon | null): { status: NativeStatus; addon: NativeAddon | null } {
  if (env.LORALAB_NATIVE === '0') return { status: { state: 'off', why: 'off, LORALAB_NATIVE=0' }, addon: null };
  let addon: NativeAddon | null;
  try {
    addon = load();
  } catch (e) {
    return { status: { state: 'unbuilt', why: `addon failed to load (${(e as Error).message.split('\n')[0]})` }, addon: null };
  }
  if (!addon) return { status: { state: 'unbuilt', why: 'not built — needs a C++ compiler; then run node lib/native/build.mjs' }, addon: null };
  const missing = ADDON_FUNCTIONS.filter((f) => typeof addon![f] !== 'function');
  if (missing.length) return { status: { state: 'unbuilt', why: `built from older sources (no ${missing.join(', ')}) — run node lib/native/build.mjs` }, addon: null };
  const candidates = blasCandidates(platform, env);
  let opened: ReturnType<NativeAddon['open']>;
  try {
    opened = addon.open(candidates);
  } catch (e) {
    const what = env.LORALAB_BLAS ? `LORALAB_BLAS=${env.LORALAB_BLAS} did not load (${(e as Error).message})` : `not found — ${blasHint(platform)}`;
    return { status: { state: 'no-blas', why: what }, addon: null };
  }
  const { name, reference } = blasName(opened);
  if (reference && !env.LORALAB_BLAS) {
    return { status: { state: 'no-blas', why: `only the reference BLAS (${opened.file}), slower than wasm — ${blasHint(platform)}` }, addon: null };
  }
  return { status: { state: 'on', library: name, threads: opened.threads, path: opened.path, file: opened.file, sharedPool: opened.sharedPool, threadTimeout: opened.threadTimeout ?? null }, addon };
}

/** The backend line's native part: "+ native BLAS (OpenBLAS 0.3.21, 2 threads)" or "(native BLAS: <why>)". */
export function describeNative(s: NativeStatus): string {
  if (s.state === 'on') return `+ native BLAS (${s.library}${s.threads ? `, ${s.threads} thread${s.threads === 1 ? '' : 's'}` : ''})`;
  return `(native BLAS: ${s.why})`;
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

/** The built addon, loaded once (or null when lib/native/build has none); node: modules are imported lazily. */
let addonLoader: Promise<() => NativeAddon | null> | null = null;

function addonLoaderOnce(): Promise<() => NativeAddon | null> {
  addonLoader ??= (async () => {
    const [{ createRequire }, { existsSync }, { fileURLToPath }] = await Promise.all([import('node:module'), import('node:fs'), import('node:url')]);
    // the same relative path from lib/src/backend and from lib/dist/backend
    const file = fileURLToPath(new URL('../../native/build/Release/loralab_native.node', import.meta.url));
    let addon: NativeAddon | null | undefined;
    return () => (addon ??= existsSync(file) ? (createRequire(import.meta.url)(file) as NativeAddon) : null);
  })();
  return addonLoader;
}

let last: NativeStatus | null = null;

/**
 * Load the addon and open a BLAS as `env` says (the BLAS, once opened, stays open for the process). Never throws:
 * the status says what happened.
 */
export async function loadNative(env: Record<string, string | undefined> = isNode ? process.env : {}): Promise<{ status: NativeStatus; addon: NativeAddon | null }> {
  const r = !isNode
    ? { status: { state: 'unsupported', why: 'not in Node' } as NativeStatus, addon: null }
    : resolveNative(env, process.platform, env.LORALAB_NATIVE === '0' ? () => null : await addonLoaderOnce());
  last = r.status;
  return r;
}

/** The outcome of the last `loadNative` (null before the first call). */
export function nativeStatus(): NativeStatus | null {
  return last;
}
