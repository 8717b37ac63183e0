// A QLoRA training step at Gemma-2B scale on this machine (random weights in Gemma-2B's exact shapes; r = 8 on
// q,k,v,o; sequence 128; gradient checkpointing): time and peak resident memory, next to what `loralab memory
// --runtime loralab` predicts, and the prediction for full fine-tuning (which does not fit).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { namedConfig } from '../lib/dist/peft/index.js';
import { predictMemory } from '../lib/dist/memory/index.js';

export async function run() {
  const dir = process.env.GEMMA_2B_RANDOM_DIR ?? join(process.env.TMPDIR ?? '/tmp', 'gemma-2b-random');
  if (!existsSync(join(dir, 'model.safetensors.index.json'))) {
    const mk = spawnSync(process.execPath, [new URL('../scripts/make-gemma2b-random.mjs', import.meta.url).pathname, dir], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (mk.status !== 0) throw new Error('could not make the Gemma-2B-shaped folder');
  }
  const child = spawnSync(process.execPath, ['--expose-gc', new URL('./gemma2bStepChild.mjs', import.meta.url).pathname, dir, mkdtempSync(join(tmpdir(), 'g2b-step-')), '128', '1'], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (child.status !== 0) throw new Error(`step failed: ${child.stderr}`);
  const measured = JSON.parse(child.stdout.trim().split('\n').at(-1));
  const cfg = namedConfig('gemma-2b');
  const predicted = predictMemory(cfg, { method: 'qlora', runtime: 'loralab', r: 8, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'], seqLen: 128, batchSize: 1, gradientCheckpointing: true });
  const full = predictMemory(cfg, { method: 'full', runtime: 'loralab', seqLen: 128, batchSize: 1, gradientCheckpointing: true });
  return {
    name: 'gemma2b-step',
    what: 'one QLoRA step (NF4 + double quantization + bf16 compute, r = 8 on q,k,v,o, sequence 128, batch 1, gradient checkpointing) on Gemma-2B shapes',
    measured,
    predicted: predicted.bytes,
    predictedFullFineTuning: full.bytes,
    machineMemoryBytes: totalmem(),
    ratios: {
      predictedToMeasuredPeak: predicted.bytes.total / measured.peakRssBytes,
      fullFineTuningToMachineMemory: full.bytes.total / totalmem(),
    },
  };
}
