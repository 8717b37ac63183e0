// A training step, LoRA (dense frozen base) vs QLoRA (NF4 base dequantized on the fly), in LoRA Lab and in PyTorch
// (bench/torch/gemma_step.py: the same Gemma written in torch, same shapes, ranks and targets, CPU) — on gemma-micro and
// on a Gemma-shaped model of about 250 million parameters. Each run is its own process, so peak memory is its own.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import os, { tmpdir } from 'node:os';
import { initBackend } from '../lib/dist/backend/index.js';
import { createGemma, parseGemmaConfig, saveGemma } from '../lib/dist/models/gemma/index.js';
import { runTorch } from './torchRef.mjs';

export const ALL_LINEAR = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

/** vocabulary 32000, hidden 1024, 8 layers of MQA attention (8 heads of 128) and a GeGLU MLP of 8192: 253M parameters. */
const GEMMA_250M = {
  architectures: ['GemmaForCausalLM'], model_type: 'gemma', vocab_size: 32000, hidden_size: 1024, intermediate_size: 8192,
  num_hidden_layers: 8, num_attention_heads: 8, num_key_value_heads: 1, head_dim: 128, hidden_act: 'gelu_pytorch_tanh',
  max_position_embeddings: 2048, rms_norm_eps: 1e-6, rope_theta: 10000, torch_dtype: 'bfloat16', bos_token_id: 2,
  eos_token_id: 1, pad_token_id: 0, attention_bias: false,
};

export async function gemma250mDir() {
  const dir = process.env.GEMMA_250M_DIR ?? join(tmpdir(), 'loralab-gemma-250m');
  if (!existsSync(join(dir, 'model.safetensors'))) {
    process.stderr.write(`writing a random ${dir} ...\n`);
    await initBackend({ log: false });
    const model = createGemma(parseGemmaConfig(GEMMA_250M), { seed: 0 });
    saveGemma(model, dir, { dtype: 'bfloat16' });
    model.dispose();
  }
  return dir;
}

function loralabStep(opts) {
  const child = spawnSync(process.execPath, [new URL('./trainStepChild.mjs', import.meta.url).pathname, JSON.stringify(opts)], { encoding: 'utf8', maxBuffer: 1 << 22 });
  if (child.status !== 0) throw new Error(`train step (${opts.method}) failed: ${child.stderr.slice(-2000)}`);
  return JSON.parse(child.stdout.trim().split('\n').at(-1));
}

/**
 * PyTorch's two thread settings. Debian's torch runs its own operators on libgomp (OpenMP) and its products on
 * OpenBLAS; with the pthreads OpenBLAS, libgomp's workers spin after each parallel operator (OMP_WAIT_POLICY
 * unset: active for a while) on the cores OpenBLAS's threads need next. Measured on a 2-core Xeon: a gemma-micro LoRA
 * step 0.27–0.35 s as installed, 0.14 s with OMP_WAIT_POLICY=PASSIVE. PyTorch is run both ways and its faster kept, so
 * that LoRA Lab is compared with PyTorch at its best on the machine, not with a default that hurts it.
 */
// PyTorch as installed, with OMP_WAIT_POLICY=PASSIVE (its libgomp workers otherwise spin on the cores OpenBLAS needs
// next), and with that and the OPENBLAS_THREAD_TIMEOUT LoRA Lab's addon sets for itself (lib/native/src/loralab_native.cc)
const TORCH_SETTINGS = {
  default: { OMP_WAIT_POLICY: null, OPENBLAS_THREAD_TIMEOUT: null },
  passive: { OMP_WAIT_POLICY: 'PASSIVE', OPENBLAS_THREAD_TIMEOUT: null },
  passive_timeout8: { OMP_WAIT_POLICY: 'PASSIVE', OPENBLAS_THREAD_TIMEOUT: '8' },
};

function torchStep(opts, setting) {
  const args = ['--config', join(opts.modelDir, 'config.json'), '--method', opts.method, '--r', String(opts.r), '--alpha', String(2 * opts.r),
    '--targets', opts.targets.join(','), '--batch', String(opts.batch), '--seq', String(opts.seq), '--steps', String(opts.steps), '--warmup', String(opts.warmup)];
  if (opts.checkpointing) args.push('--grad-checkpointing');
  const r = runTorch('gemma_step.py', args, { env: TORCH_SETTINGS[setting] });
  return r.unavailable ? r : { ...r, torchSetting: setting, torchEnv: TORCH_SETTINGS[setting] };
}

/** Each side is run PAIRS times, alternating with the other, and its fastest run kept: load from other work on a shared
 * machine then slows both sides alike instead of whichever happened to run during it. */
const PAIRS = Number(process.env.TRAIN_STEP_PAIRS ?? 2);
const fastest = (rs) => (rs[0].unavailable ? rs[0] : rs.reduce((a, b) => (b.medianStepSeconds < a.medianStepSeconds ? b : a)));

function compare(label, base) {
  const runs = {};
  for (const method of ['lora', 'qlora']) {
    const all = { loralab: [], pytorch: [] };
    for (let p = 0; p < PAIRS; p++) {
      process.stderr.write(`  ${label} ${method} (${p + 1}/${PAIRS}): LoRA Lab...\n`);
      all.loralab.push(loralabStep({ ...base, method }));
      for (const setting of Object.keys(TORCH_SETTINGS)) {
        process.stderr.write(`  ${label} ${method} (${p + 1}/${PAIRS}): PyTorch (${setting})...\n`);
        all.pytorch.push(torchStep({ ...base, method }, setting));
      }
    }
    runs[method] = {
      loralab: fastest(all.loralab),
      pytorch: fastest(all.pytorch),
      medianStepSecondsOfEachRun: {
        loralab: all.loralab.map((r) => r.medianStepSeconds),
        ...Object.fromEntries(Object.keys(TORCH_SETTINGS).map((k) => [`pytorch_${k}`, all.pytorch.filter((r) => r.torchSetting === k).map((r) => r.medianStepSeconds)])),
      },
    };
  }
  const t = (m, who) => runs[m][who].tokensPerSecond;
  const torchOk = !runs.lora.pytorch.unavailable;
  return {
    model: label,
    settings: { ...base, modelDir: undefined },
    runs,
    ratios: {
      qloraStepToLoraStep: runs.qlora.loralab.medianStepSeconds / runs.lora.loralab.medianStepSeconds,
      qloraPeakRssToLora: runs.qlora.loralab.peakRssBytes / runs.lora.loralab.peakRssBytes,
      ...(torchOk ? {
        loraTokensPerSecondToPyTorch: t('lora', 'loralab') / t('lora', 'pytorch'),
        qloraTokensPerSecondToPyTorch: t('qlora', 'loralab') / t('qlora', 'pytorch'),
        pytorchQloraStepToLoraStep: runs.qlora.pytorch.medianStepSeconds / runs.lora.pytorch.medianStepSeconds,
      } : {}),
    },
  };
}

export async function run() {
  const loadAverageAtStart = os.loadavg();
  const micro = new URL('../datasets/models/gemma-micro', import.meta.url).pathname;
  const only = process.env.TRAIN_STEP_ONLY;
  if (only && only !== 'micro' && only !== '250m') throw new Error(`TRAIN_STEP_ONLY must be 'micro' or '250m' (got '${only}')`);
  const cases = [];
  if (!only || only === 'micro') cases.push(compare('gemma-micro (4M)', { modelDir: micro, r: 8, targets: ALL_LINEAR, batch: 8, seq: 64, warmup: 2, steps: 8, checkpointing: false }));
  if (!only || only === '250m') cases.push(compare('gemma-250m (253M, random weights)', { modelDir: await gemma250mDir(), r: 8, targets: ALL_LINEAR, batch: 1, seq: 128, warmup: 1, steps: 3, checkpointing: true }));
  return {
    name: 'train-step',
    what: 'one training step (forward, backward, AdamW) for LoRA and QLoRA (NF4, double quantization, bf16 compute), r = 8 on all linear layers, LoRA Lab vs the same step in PyTorch (CPU); each side run `pairs` times alternately (PyTorch each time as installed, with OMP_WAIT_POLICY=PASSIVE, and with that and OPENBLAS_THREAD_TIMEOUT=8 as LoRA Lab\'s addon sets it), the fastest run kept',
    pairs: PAIRS,
    // the machine is shared: other work's load (1-minute load average, at the start and the end) is part of the result
    loadAverage: { start: loadAverageAtStart, end: os.loadavg() },
    cases,
  };
}
