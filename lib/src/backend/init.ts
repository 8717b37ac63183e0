/**
 * Probe the environment and start TF.js on the chosen backend. Optional packages are imported only when present, so
 * none of them is ever required.
 */
import * as tf from '@tensorflow/tfjs';
import { BackendError, chooseBackend, describeChoice, type BackendChoice, type BackendProbe } from './select.js';
import { loadNative } from './native.js';
import { setNativeKernels } from './nativeKernels.js';

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

type Resolver = (name: string) => boolean;

/** node:module is imported lazily so that this file also loads in a browser bundle. */
async function resolver(): Promise<Resolver> {
  if (!isNode) return () => false;
  const { createRequire } = await import('node:module');
  const req = createRequire(import.meta.url);
  return (name) => {
    try {
      req.resolve(name);
      return true;
    } catch {
      return false;
    }
  };
}

interface GpuLike {
  requestAdapter(): Promise<unknown>;
}

async function probeWebgpu(installed: Resolver): Promise<{ ok: boolean; why?: string }> {
  const nav = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator;
  if (nav?.gpu) {
    const adapter = await nav.gpu.requestAdapter().catch(() => null);
    return adapter ? { ok: true } : { ok: false, why: 'navigator.gpu gave no adapter' };
  }
  if (!isNode) return { ok: false, why: 'this browser has no WebGPU' };
  if (!installed('webgpu')) return { ok: false, why: "no WebGPU adapter (the optional 'webgpu' package is not installed)" };
  try {
    const mod = (await import('webgpu' as string)) as { create: (opts: string[]) => GpuLike; globals: Record<string, unknown> };
    Object.assign(globalThis, mod.globals);
    const gpu = mod.create([]);
    const adapter = await gpu.requestAdapter().catch(() => null);
    if (!adapter) return { ok: false, why: "the 'webgpu' package found no adapter" };
    const g = globalThis as { navigator?: { gpu?: GpuLike } };
    if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
    else if (!g.navigator.gpu) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
    return { ok: true };
  } catch (e) {
    return { ok: false, why: `the 'webgpu' package failed to start (${(e as Error).message})` };
  }
}

export async function probeBackends(env: Record<string, string | undefined> = isNode ? process.env : {}): Promise<BackendProbe> {
  const installed = await resolver();
  const wg = await probeWebgpu(installed);
  return {
    requested: env.LORALAB_BACKEND,
    tfjsNodeGpu: installed('@tensorflow/tfjs-node-gpu'),
    tfjsNode: installed('@tensorflow/tfjs-node'),
    webgpuAdapter: wg.ok,
    webgpuWhy: wg.why,
    wasm: !isNode || installed('@tensorflow/tfjs-backend-wasm'),
  };
}

/** Native matmul on the wasm backend: load the addon, open a BLAS and register the kernel, or say why not. */
async function startNative(env: Record<string, string | undefined>): Promise<NonNullable<BackendChoice['native']>> {
  const { status, addon } = await loadNative(env);
  if (status.state !== 'on') return status;
  return setNativeKernels(true, addon) ? status : { state: 'unsupported', why: "the wasm backend's heap is not reachable" };
}

let current: Promise<BackendChoice> | null = null;

export interface InitOptions {
  /** Print the one-line explanation (to stderr in Node). Default true. */
  log?: boolean;
  env?: Record<string, string | undefined>;
}

/** Choose, import and activate the backend once; later calls return the same choice. */
export function initBackend(opts: InitOptions = {}): Promise<BackendChoice> {
  current ??= (async () => {
    const choice = chooseBackend(await probeBackends(opts.env));
    switch (choice.name) {
      case 'tensorflow':
        await import(choice.package as string);
        break;
      case 'webgpu':
        await import('@tensorflow/tfjs-backend-webgpu');
        break;
      case 'wasm':
        await import('@tensorflow/tfjs-backend-wasm');
        break;
      case 'cpu':
        break;
    }
    const ok = await tf.setBackend(choice.name);
    if (!ok) throw new BackendError(`TF.js could not start the '${choice.name}' backend`);
    await tf.ready();
    if (choice.name === 'wasm' && isNode) choice.native = await startNative(opts.env ?? process.env);
    if (opts.log ?? true) {
      const line = describeChoice(choice);
      if (isNode) process.stderr.write(`${line}\n`);
      else console.info(line);
    }
    return choice;
  })();
  current.catch(() => {
    current = null;
  });
  return current;
}

export { tf };
