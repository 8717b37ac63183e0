/**
 * The kernel table (backend/kernels.ts): one place that says which implementation runs each LoRA Lab kernel on each
 * backend, and the import direction that keeps it the only place (kernels know no backend).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KERNEL_BACKENDS, KERNEL_TABLE, activeKernels, dequantizeKernelName, initBackend, nativeKernelsActive, setNativeKernels, tf } from 'loralab/backend';

describe('kernel table', () => {
  it('has a row for every backend and names the native kernels only on wasm-native', () => {
    expect(Object.keys(KERNEL_TABLE).sort()).toEqual([...KERNEL_BACKENDS].sort());
    for (const b of KERNEL_BACKENDS) {
      expect(KERNEL_TABLE[b].matmul === 'blas-sgemm').toBe(b === 'wasm-native');
      expect(KERNEL_TABLE[b].elementwise === 'native').toBe(b === 'wasm-native');
      expect(KERNEL_TABLE[b].fused === 'native').toBe(b === 'wasm-native');
    }
    expect(KERNEL_TABLE.webgpu.dequantize).toBe('webgpu');
    expect(KERNEL_TABLE.cpu.dequantize).toBe('cpu-copy');
  });

  it('follows the active backend: wasm-native while the native matmul is registered, wasm without it', async () => {
    await initBackend({ log: false });
    if (tf.getBackend() !== 'wasm') return expect(activeKernels().backend).not.toMatch(/^wasm/);
    const native = nativeKernelsActive();
    expect(activeKernels()).toEqual({ backend: native ? 'wasm-native' : 'wasm', ...KERNEL_TABLE[native ? 'wasm-native' : 'wasm'] });
    setNativeKernels(false);
    try {
      expect(activeKernels()).toMatchObject({ backend: 'wasm', matmul: 'tfjs', elementwise: 'tfjs' });
      expect(dequantizeKernelName()).toBe('wasm-fused');
      expect(dequantizeKernelName(63)).toBe('cpu-copy'); // the SIMD kernel needs an even blocksize
    } finally {
      setNativeKernels(native);
    }
  });

  it("quant's reference math imports no kernel: the table registers them (quant/index.ts may re-export them)", () => {
    const dir = new URL('../../lib/src/quant/', import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && f !== 'index.ts');
    expect(files).toContain('blockwise4.ts');
    for (const f of files) {
      const imports = [...readFileSync(new URL(f, dir), 'utf8').matchAll(/from '([^']+)'/g)].map((m) => m[1]);
      expect(imports.filter((p) => /kernels\/|backend\//.test(p)), f).toEqual([]);
    }
  });

  it('kernels import no backend: quant/kernels never reaches up into backend/', () => {
    const dir = new URL('../../lib/src/quant/kernels/', import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(2);
    for (const f of files) {
      const imports = [...readFileSync(new URL(f, dir), 'utf8').matchAll(/from '([^']+)'/g)].map((m) => m[1]);
      expect(imports.filter((p) => /backend\/|blockwise4/.test(p) && !p.startsWith('@tensorflow/')), f).toEqual([]);
    }
  });
});
