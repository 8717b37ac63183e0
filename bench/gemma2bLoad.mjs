// Loading a folder with Gemma-2B's exact shapes (random weights) with loadIn4bit: wall time and peak resident memory,
// next to the size of the quantized model and of the bf16 checkpoint. The folder is made by
// scripts/make-gemma2b-random.mjs (GEMMA_2B_RANDOM_DIR, default $TMPDIR/gemma-2b-random) if missing.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export async function run() {
  const dir = process.env.GEMMA_2B_RANDOM_DIR ?? join(process.env.TMPDIR ?? '/tmp', 'gemma-2b-random');
  if (!existsSync(join(dir, 'model.safetensors.index.json'))) {
    const mk = spawnSync(process.execPath, [new URL('../scripts/make-gemma2b-random.mjs', import.meta.url).pathname, dir], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (mk.status !== 0) throw new Error('could not make the Gemma-2B-shaped folder');
  }
  const checkpointBytes = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).reduce((s, f) => s + statSync(join(dir, f)).size, 0);
  const child = spawnSync(process.execPath, ['--expose-gc', new URL('./gemma2bLoadChild.mjs', import.meta.url).pathname, dir], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (child.status !== 0) throw new Error(`load failed: ${child.stderr}`);
  const r = JSON.parse(child.stdout.trim().split('\n').at(-1));
  const quantizedModelBytes = r.quantizedLinearBytes + r.embeddingBf16Bytes;
  return {
    name: 'gemma2b-load',
    what: "GemmaForCausalLM.loadGemma(dir, { loadIn4bit: true, nf4, double quant, bf16 compute }) on Gemma-2B's exact shapes",
    checkpointBf16Bytes: checkpointBytes,
    quantizedModelBytes,
    ...r,
    ratios: {
      peakRssToQuantizedModel: r.peakRssAfterLoadBytes / quantizedModelBytes,
      peakRssToBf16Checkpoint: r.peakRssAfterLoadBytes / checkpointBytes,
    },
  };
}
