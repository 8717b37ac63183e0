/**
 * Which TF.js backend a browser tab (or its Web Worker) trains on, and the one line that says why:
 *
 *   webgpu  when navigator.gpu gives a hardware adapter;
 *   wasm    otherwise: no navigator.gpu, no adapter, or only a software adapter. Chromium without a GPU offers
 *           SwiftShader, a CPU emulation of a GPU (`isFallbackAdapter`, architecture 'swiftshader'), on which a
 *           gemma-micro QLoRA step runs at about 2 tokens/s (bench/results/webgpu.json); TF.js's wasm backend on
 *           the same CPU is far faster, so a software adapter is not chosen unless asked for.
 *
 * `chooseTabBackend` is the pure decision (tested); `startTabBackend` probes, decides and starts TF.js through
 * backend/init's `initBackend`, the one place that activates a backend.
 */
import { initBackend } from '../backend/init.js';
import { webgpuAdapterInfo, type AdapterInfo } from './session.js';
import { WebGpuError } from './errors.js';

export type TabBackendName = 'webgpu' | 'wasm';
/** 'auto' follows the rule above; 'webgpu' and 'wasm' force one (a forced webgpu without an adapter is an error). */
export type TabBackendPreference = 'auto' | TabBackendName;

export interface AdapterProbe {
  /** The adapter navigator.gpu gave, or null (with `why`). */
  adapter: (AdapterInfo & { isFallbackAdapter: boolean }) | null;
  why?: string;
}

export interface TabBackendChoice {
  name: TabBackendName;
  reason: string;
}

/** A software adapter: the WebGPU API, computed on the CPU. */
export function isSoftwareAdapter(a: AdapterInfo & { isFallbackAdapter: boolean }): boolean {
  return a.isFallbackAdapter || /swiftshader|llvmpipe|lavapipe|warp/i.test(`${a.vendor} ${a.architecture} ${a.description}`);
}

export const describeAdapter = (a: AdapterInfo): string => [a.vendor, a.architecture, a.description].filter(Boolean).join(' ') || 'an unnamed adapter';

export function chooseTabBackend(probe: AdapterProbe, prefer: TabBackendPreference = 'auto'): TabBackendChoice {
  const a = probe.adapter;
  if (prefer === 'wasm') return { name: 'wasm', reason: 'wasm was asked for' };
  if (prefer === 'webgpu') {
    if (!a) throw new WebGpuError(`WebGPU was asked for, but ${probe.why ?? 'there is no adapter'}`);
    return { name: 'webgpu', reason: `WebGPU was asked for (adapter: ${describeAdapter(a)}${isSoftwareAdapter(a) ? ', a software adapter' : ''})` };
  }
  if (!a) return { name: 'wasm', reason: `${probe.why ?? 'there is no WebGPU adapter'}, so the CPU runs it through WebAssembly` };
  if (isSoftwareAdapter(a)) return { name: 'wasm', reason: `the only WebGPU adapter is ${describeAdapter(a)}, a software emulation of a GPU (about 2 tokens/s), slower than WebAssembly on the same CPU` };
  return { name: 'webgpu', reason: `this browser has a WebGPU adapter (${describeAdapter(a)})` };
}

interface AdapterInfoLike { vendor?: string; architecture?: string; description?: string; device?: string; isFallbackAdapter?: boolean }
interface GpuLike { requestAdapter(): Promise<{ info?: AdapterInfoLike; isFallbackAdapter?: boolean } | null> }

/** What navigator.gpu offers in this tab or worker. */
export async function probeAdapter(): Promise<AdapterProbe> {
  const gpu = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;
  if (!gpu) return { adapter: null, why: 'this browser has no WebGPU (navigator.gpu is undefined)' };
  const a = await gpu.requestAdapter().catch(() => null);
  if (!a) return { adapter: null, why: 'navigator.gpu gave no adapter' };
  const i = a.info ?? {};
  return { adapter: { vendor: i.vendor ?? '', architecture: i.architecture ?? '', description: i.description || i.device || '', isFallbackAdapter: !!(i.isFallbackAdapter ?? a.isFallbackAdapter) } };
}

export interface TabBackend extends TabBackendChoice {
  /** The adapter TF.js runs on (webgpu), else null. */
  adapter: AdapterInfo | null;
  /** "TF.js webgpu: <reason>" — the line a page shows. */
  line: string;
}

/**
 * Probe, choose and start TF.js. `wasmPaths` is the folder (URL ending in '/') that serves tfjs-backend-wasm's .wasm
 * files; without it the wasm backend looks next to the script.
 */
export async function startTabBackend(opts: { prefer?: TabBackendPreference; wasmPaths?: string } = {}): Promise<TabBackend> {
  const choice = chooseTabBackend(await probeAdapter(), opts.prefer ?? 'auto');
  if (choice.name === 'wasm' && opts.wasmPaths) {
    const { setWasmPaths } = await import('@tensorflow/tfjs-backend-wasm');
    setWasmPaths(opts.wasmPaths);
  }
  await initBackend({ log: false, env: { LORALAB_BACKEND: choice.name } });
  const label = choice.name === 'webgpu' ? 'WebGPU' : 'TF.js wasm (WebAssembly on the CPU)';
  return { ...choice, adapter: webgpuAdapterInfo(), line: `Training on ${label}: ${choice.reason}.` };
}
