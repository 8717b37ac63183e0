/**
 * Which TF.js backend LoRA Lab runs on, and why. The decision is a pure function of what is available
 * (`chooseBackend`), so it is testable; `initBackend` probes the real environment and applies it.
 *
 * Order: LORALAB_BACKEND if set; else `tensorflow` (@tensorflow/tfjs-node-gpu, then @tensorflow/tfjs-node — optional
 * peers whose install downloads libtensorflow); else `webgpu` when an adapter exists (browser, or Node through the
 * `webgpu` package); else `wasm` (ships inside its npm package: the default on CPU); else `cpu`.
 */

import { LoraLabError } from '../util/errors.js';
import { describeNative, type NativeStatus } from './native.js';

export const BACKENDS = ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface BackendProbe {
  /** Value of LORALAB_BACKEND, if set. */
  requested?: string;
  tfjsNodeGpu: boolean;
  tfjsNode: boolean;
  /** A WebGPU adapter was obtained (navigator.gpu in a browser, or the `webgpu` package in Node). */
  webgpuAdapter: boolean;
  /** Why WebGPU is unavailable, when it is (for the message). */
  webgpuWhy?: string;
  wasm: boolean;
}

export interface BackendChoice {
  name: BackendName;
  /** For `tensorflow`: which package provides it. */
  package?: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node';
  reason: string;
  /** On `wasm` in Node: whether matmul runs through the native BLAS addon, or why not. */
  native?: NativeStatus;
}

export class BackendError extends LoraLabError {
  override name = 'BackendError';
}

function available(p: BackendProbe, name: BackendName): { ok: boolean; why: string } {
  switch (name) {
    case 'tensorflow':
      return { ok: p.tfjsNodeGpu || p.tfjsNode, why: 'neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed' };
    case 'webgpu':
      return { ok: p.webgpuAdapter, why: p.webgpuWhy ?? 'no WebGPU adapter' };
    case 'wasm':
      return { ok: p.wasm, why: '@tensorflow/tfjs-backend-wasm is not installed' };
    case 'cpu':
      return { ok: true, why: '' };
  }
}

export function chooseBackend(p: BackendProbe): BackendChoice {
  const tfPackage = p.tfjsNodeGpu ? '@tensorflow/tfjs-node-gpu' : p.tfjsNode ? '@tensorflow/tfjs-node' : undefined;
  if (p.requested !== undefined && p.requested !== '') {
    const req = p.requested.trim().toLowerCase();
    if (!(BACKENDS as readonly string[]).includes(req)) {
      throw new BackendError(`LORALAB_BACKEND='${p.requested}' is not a backend; expected one of ${BACKENDS.join(', ')}`);
    }
    const name = req as BackendName;
    const a = available(p, name);
    if (!a.ok) throw new BackendError(`LORALAB_BACKEND=${name}, but ${a.why}`);
    return { name, package: name === 'tensorflow' ? tfPackage : undefined, reason: 'requested by LORALAB_BACKEND' };
  }
  if (tfPackage) return { name: 'tensorflow', package: tfPackage, reason: `${tfPackage} is installed (native TensorFlow)` };
  const skipped = ['@tensorflow/tfjs-node not installed'];
  if (p.webgpuAdapter) return { name: 'webgpu', reason: `a WebGPU adapter is available (${skipped.join('; ')})` };
  skipped.push(p.webgpuWhy ?? 'no WebGPU adapter');
  if (p.wasm) return { name: 'wasm', reason: `default CPU backend (${skipped.join('; ')})` };
  skipped.push('@tensorflow/tfjs-backend-wasm not installed');
  return { name: 'cpu', reason: `last resort, plain JavaScript (${skipped.join('; ')})` };
}

/** The one line LoRA Lab prints about its backend. */
export function describeChoice(c: BackendChoice): string {
  return `loralab: TF.js backend '${c.name}'${c.package ? ` via ${c.package}` : ''}${c.native ? ` ${describeNative(c.native)}` : ''}: ${c.reason}`;
}
