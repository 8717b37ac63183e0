/**
 * TF.js's WebGPU backend for one demo, without taking over the page.
 *
 * The demos compute on whatever backend TF.js picks by default (WebGL in most browsers). Importing
 * @tensorflow/tfjs-backend-webgpu registers 'webgpu' at a higher priority, and `tf.setBackend('webgpu')` initializes it
 * asynchronously — while that runs, every other TF.js call on the page throws "Backend 'webgpu' has not yet been
 * initialized". So the backend is built here, outside TF.js (device request, `new WebGPUBackend`), and registered with
 * a factory that returns it at once; `onWebGpu(fn)` then switches to it, runs `fn` synchronously, and switches back,
 * so no other code ever sees 'webgpu' as the active backend. Tensors made inside `fn` stay on the WebGPU backend and
 * can be read (`await t.data()`) and disposed after the switch back.
 */
import * as tf from '@tensorflow/tfjs';

export type WebGpuAvailability = { ok: true; adapter: string } | { ok: false; why: string };

interface AdapterInfoLike { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean }
interface AdapterLike {
  info?: AdapterInfoLike;
  limits: Record<string, number>;
  requestDevice(desc?: { requiredLimits?: Record<string, number> }): Promise<unknown>;
}
interface GpuLike { requestAdapter(opts?: { powerPreference?: string }): Promise<AdapterLike | null> }

function describeAdapter(info: AdapterInfoLike | undefined): string {
  if (!info) return 'an unnamed adapter';
  const name = [info.vendor, info.architecture, info.device, info.description].filter((s) => s).join(' ');
  return `${name || 'an unnamed adapter'}${info.isFallbackAdapter ? ' (software fallback)' : ''}`;
}

let ready: Promise<WebGpuAvailability> | null = null;

/** Find an adapter and prepare the 'webgpu' backend (once per page); says why not when there is none. */
export function prepareWebGpuBackend(): Promise<WebGpuAvailability> {
  ready ??= (async (): Promise<WebGpuAvailability> => {
    const gpu = (navigator as Navigator & { gpu?: GpuLike }).gpu;
    if (!gpu) return { ok: false, why: 'this browser has no navigator.gpu' };
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' }).catch(() => null);
    if (!adapter) return { ok: false, why: 'navigator.gpu gave no adapter' };
    // Let TF.js choose the page's backend first: once registered, 'webgpu' would win the choice on priority.
    await tf.ready();
    const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
    // Already initialized (by other code)? Then it is used as it is. (Not tf.findBackend('webgpu'): on a registered,
    // uninitialized backend that starts TF.js's asynchronous init, the very thing avoided here.)
    if (!tf.engine().registry.webgpu) {
      // The limits TF.js's own factory asks for (tfjs-backend-webgpu/src/base.ts).
      const keys = ['maxComputeWorkgroupStorageSize', 'maxComputeWorkgroupsPerDimension', 'maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupSizeX', 'maxComputeInvocationsPerWorkgroup'];
      const device = await adapter.requestDevice({ requiredLimits: Object.fromEntries(keys.map((k) => [k, adapter.limits[k]])) });
      const backend = new WebGPUBackend(device as ConstructorParameters<typeof WebGPUBackend>[0], adapter.info as ConstructorParameters<typeof WebGPUBackend>[1]);
      if (tf.engine().backendNames().includes('webgpu')) tf.removeBackend('webgpu');
      tf.registerBackend('webgpu', () => backend, 3);
    }
    return { ok: true, adapter: describeAdapter(adapter.info) };
  })();
  ready.catch(() => { ready = null; });
  return ready;
}

/** Run `fn` with 'webgpu' as the active backend (after `prepareWebGpuBackend` said ok), then restore the previous one. */
export function onWebGpu<T>(fn: () => T): T {
  const prev = tf.getBackend();
  if (prev === 'webgpu') return fn();
  void tf.setBackend('webgpu'); // synchronous: the registered factory returns a ready backend
  try {
    if (tf.getBackend() !== 'webgpu' || !tf.engine().registry.webgpu) throw new Error('the webgpu backend could not be activated');
    return fn();
  } finally {
    void tf.setBackend(prev);
  }
}
