// Child of the train-step benchmark: loads a model folder for LoRA (dense frozen base) or QLoRA (NF4 + double
// quantization + bf16 compute), runs warmup + timed training steps on random tokens, prints one JSON line.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../lib/dist/backend/index.js';
import { dequantizeKernelName } from '../lib/dist/backend/index.js';
import { runSteps, setupStep, stepSeconds } from './trainStepSetup.mjs';

const vmHWM = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
const o = JSON.parse(process.argv[2]);
const backend = await initBackend({ log: false });
const setup = setupStep(o);
const afterLoad = vmHWM();
const outDir = mkdtempSync(join(tmpdir(), 'loralab-step-'));
try {
  const recs = runSteps(setup, o, o.warmup + o.steps, outDir);
  const seconds = stepSeconds(recs).slice(o.warmup);
  const median = [...seconds].sort((a, b) => a - b)[Math.floor(seconds.length / 2)];
  console.log(JSON.stringify({
    backend: backend.name,
    native: backend.native ?? null,
    dequantizeKernel: o.method === 'qlora' ? dequantizeKernelName() : null,
    stepSeconds: seconds,
    medianStepSeconds: median,
    tokensPerSecond: (o.batch * o.seq) / median,
    loss: recs.map((r) => r.loss),
    trainableParameters: [...setup.prepared.trainable.params.values()].reduce((s, v) => s + v.size, 0),
    peakRssAfterLoadBytes: afterLoad,
    peakRssBytes: vmHWM(),
  }));
} finally {
  rmSync(outDir, { recursive: true, force: true });
}
