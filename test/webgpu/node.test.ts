/**
 * The same QLoRA step in Node, through the optional `webgpu` package (Dawn): a child process starts TF.js's webgpu
 * backend with `startWebGpu`, trains the tiny fixture for 3 steps with `QloraSession`, and its losses match the same
 * session on the wasm backend. Where the package is not installed the test is skipped, saying so. On a machine with
 * no Vulkan driver of its own, Dawn is pointed at the SwiftShader Vulkan driver that Debian's Chromium ships.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './harness.js';

const installed = (() => { try { createRequire(join(ROOT, 'lib/package.json')).resolve('webgpu'); return true; } catch { return false; } })();
const CHROMIUM_LIB = '/usr/lib/chromium';
const systemIcds = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d'].some((d) => existsSync(d) && readdirSync(d).some((f) => f.endsWith('.json')));

/** Run the session in a child process on `backend`; its stdout is the JSON list of losses. */
function losses(backend: 'webgpu' | 'wasm'): number[] {
  const script = `
    import { readFileSync } from 'node:fs';
    import { startWebGpu, QloraSession } from ${JSON.stringify(join(ROOT, 'lib/dist/webgpu/index.js'))};
    import { initBackend } from ${JSON.stringify(join(ROOT, 'lib/dist/backend/index.js'))};
    if (process.argv[1] === 'webgpu') await startWebGpu(); else await initBackend({ log: false, env: { LORALAB_BACKEND: 'wasm' } });
    const dir = ${JSON.stringify(join(ROOT, 'test/fixtures/gemma-tiny'))};
    const read = (f) => JSON.parse(readFileSync(dir + '/' + f, 'utf8'));
    const s = QloraSession.fromFiles({ config: read('config.json'), safetensors: readFileSync(dir + '/model.safetensors'), tokenizer: read('tokenizer.json'), name: dir }, { r: 4, lr: 1e-3, initLoraWeights: false });
    const b = s.batch([{ question: 'How many orders?', sql: 'SELECT COUNT(*) FROM orders;' }], { maxLength: 48 });
    const out = [];
    for (let k = 0; k < 3; k++) out.push((await s.step(b)).loss);
    process.stdout.write(JSON.stringify(out));
    process.exit(0);`;
  const env = { ...process.env };
  if (backend === 'webgpu' && !systemIcds && existsSync(join(CHROMIUM_LIB, 'vk_swiftshader_icd.json'))) {
    env.LD_LIBRARY_PATH = [CHROMIUM_LIB, env.LD_LIBRARY_PATH].filter(Boolean).join(':');
    env.VK_ICD_FILENAMES ??= join(CHROMIUM_LIB, 'vk_swiftshader_icd.json');
  }
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, backend], { env, encoding: 'utf8', timeout: 240_000 });
  if (r.status !== 0) throw new Error(`the ${backend} child failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout) as number[];
}

describe('QLoRA step on WebGPU in Node (the optional webgpu package)', () => {
  it('gives the wasm backend\'s loss curve over 3 steps', (ctx) => {
    if (!installed) ctx.skip("the optional 'webgpu' package is not installed (npm install webgpu to run the step on Dawn in Node)");
    const gpu = losses('webgpu');
    const cpu = losses('wasm');
    expect(gpu.length).toBe(3);
    gpu.forEach((l, k) => expect(Math.abs(l - cpu[k])).toBeLessThanOrEqual(1e-3 * Math.abs(cpu[k]))); // step.test.ts's CURVE_RTOL, derived there
    expect(gpu[2]).toBeLessThan(gpu[0]);
  }, 300_000);
});
