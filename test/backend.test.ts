import { describe, expect, it } from 'vitest';
import { BackendError, chooseBackend, describeChoice, initBackend, probeBackends, tf, type BackendProbe } from 'loralab/backend';

const none: BackendProbe = { tfjsNodeGpu: false, tfjsNode: false, webgpuAdapter: false, wasm: true };

describe('backend choice (pure decision)', () => {
  it('prefers tfjs-node-gpu, then tfjs-node, then webgpu, then wasm, then cpu', () => {
    expect(chooseBackend({ ...none, tfjsNodeGpu: true, tfjsNode: true, webgpuAdapter: true })).toMatchObject({ name: 'tensorflow', package: '@tensorflow/tfjs-node-gpu' });
    expect(chooseBackend({ ...none, tfjsNode: true, webgpuAdapter: true })).toMatchObject({ name: 'tensorflow', package: '@tensorflow/tfjs-node' });
    expect(chooseBackend({ ...none, webgpuAdapter: true }).name).toBe('webgpu');
    const w = chooseBackend({ ...none, webgpuWhy: "the optional 'webgpu' package is not installed" });
    expect(w.name).toBe('wasm');
    expect(w.reason).toMatch(/default CPU backend.*tfjs-node not installed.*'webgpu' package is not installed/);
    expect(chooseBackend({ ...none, wasm: false }).name).toBe('cpu');
  });
  it('LORALAB_BACKEND wins, case-insensitively, and fails clearly when unavailable or unknown', () => {
    expect(chooseBackend({ ...none, requested: 'CPU', webgpuAdapter: true })).toMatchObject({ name: 'cpu', reason: 'requested by LORALAB_BACKEND' });
    expect(() => chooseBackend({ ...none, requested: 'tensorflow' })).toThrow(/LORALAB_BACKEND=tensorflow, but neither @tensorflow\/tfjs-node-gpu nor @tensorflow\/tfjs-node is installed/);
    expect(() => chooseBackend({ ...none, requested: 'webgpu', webgpuWhy: 'no adapter here' })).toThrow(/no adapter here/);
    expect(() => chooseBackend({ ...none, requested: 'cuda' })).toThrow(BackendError);
    expect(() => chooseBackend({ ...none, requested: 'cuda' })).toThrow(/expected one of tensorflow, webgpu, wasm, cpu/);
  });
  it('says which backend and why in one line', () => {
    expect(describeChoice({ name: 'wasm', reason: 'default CPU backend (x)' })).toBe("loralab: TF.js backend 'wasm': default CPU backend (x)");
    expect(describeChoice({ name: 'tensorflow', package: '@tensorflow/tfjs-node', reason: 'r' })).toBe("loralab: TF.js backend 'tensorflow' via @tensorflow/tfjs-node: r");
  });
});

describe('backend start on this machine', () => {
  it('probes: wasm is shipped, tfjs-node is an optional peer', async () => {
    const p = await probeBackends({});
    expect(p.wasm).toBe(true);
    expect(p.requested).toBeUndefined();
  });
  it('starts the chosen backend (wasm by default here) and computes with it', async () => {
    const choice = await initBackend({ log: false, env: {} });
    expect(['wasm', 'tensorflow', 'webgpu']).toContain(choice.name);
    expect(tf.getBackend()).toBe(choice.name);
    const y = tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]]));
    expect(Array.from(y.dataSync())).toEqual([11]);
  });
});

describe('roundTensorToBf16', () => {
  it('rounds a TF.js tensor to bf16 values and keeps its shape', async () => {
    const { roundTensorToBf16 } = await import('loralab/backend');
    const t = tf.tensor2d([[Math.PI, 1.00390625], [-0, 65504.5]]);
    const r = roundTensorToBf16(t);
    expect(r.shape).toEqual([2, 2]);
    expect(Array.from(r.dataSync())).toEqual([3.140625, 1, -0, 65536]);
    expect(() => roundTensorToBf16(tf.tensor1d([1], 'int32'))).toThrow(/float32/);
  });
});
