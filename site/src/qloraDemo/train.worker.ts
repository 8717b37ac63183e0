/// <reference lib="webworker" />
/**
 * The QLoRA demo's training worker: everything TF.js does runs here, off the page's thread, so the page never
 * freezes. It picks the backend (WebGPU on a hardware adapter, else wasm: webgpu/tab.ts), fetches gemma-micro and
 * quantizes it to NF4 with double quantization and bf16 compute (QloraSession.fromFiles), attaches LoRA, and trains
 * on the SQL task's train split, posting every step. `stop` takes effect between steps; `train` again resumes the
 * same run (LoRA weights, AdamW state, step and data position all stay here). `generate` answers a question with the
 * fine-tuned model or, with `adapters: false`, with the base model.
 *
 * Bundled with LoRA Lab's sources by site/scripts/demoAssets.mjs (esbuild) into build/vendor/.
 */
import { QloraSession, fetchModelFiles, startTabBackend, TrainingRun } from '../../../lib/src/webgpu/index.js';
import { SQL_TEMPLATE } from '../../../lib/src/train/data.js';
import type { FromTrainer, ToTrainer, TrainSettings } from './protocol';

const scope = self as unknown as DedicatedWorkerGlobalScope;
const post = (m: FromTrainer) => scope.postMessage(m);

let run: TrainingRun | null = null;
let loading: Promise<void> | null = null;


async function fetchJson<T>(url: string): Promise<T> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return (await r.json()) as T;
}

async function load(m: Extract<ToTrainer, { type: 'load' }>): Promise<void> {
  const t0 = performance.now();
  const backend = await startTabBackend({ prefer: m.prefer, wasmPaths: m.assets.tfjsWasm });
  post({ type: 'backend', name: backend.name, line: backend.line });
  post({ type: 'status', text: 'Downloading gemma-micro (16 MB) and the train split…' });
  const [files, records] = await Promise.all([fetchModelFiles(m.assets.model), fetchJson<{ question: string; sql: string }[]>(m.assets.train)]);
  post({ type: 'status', text: 'Quantizing every linear layer to 4-bit NF4 (double quantization, bf16 compute) and attaching LoRA…' });
  await new Promise((r) => setTimeout(r, 0));
  const s: TrainSettings = m.settings;
  // LoRA on every linear layer, alpha = 2r, warmup then cosine: the settings of bench/results/finetune.json's runs
  const session = QloraSession.fromFiles({ ...files, name: 'gemma-micro' }, {
    r: s.r, loraAlpha: 2 * s.r, targetModules: 'all-linear', seed: s.seed,
    lr: s.lr, totalSteps: s.steps, warmupSteps: Math.min(20, Math.floor(s.steps / 10)), schedule: 'cosine',
  });
  run = new TrainingRun(session, records, { steps: s.steps, batchSize: s.batchSize, maxLength: s.maxLength, seed: s.seed });
  post({ type: 'loaded', parameters: session.peft.trainableParametersLine(), records: records.length, seconds: (performance.now() - t0) / 1000 });
}

function ensureRun(): TrainingRun {
  if (!run) throw new Error('the model is not loaded yet');
  return run;
}

async function handle(m: ToTrainer): Promise<void> {
  switch (m.type) {
    case 'load':
      loading ??= load(m);
      await loading;
      return;
    case 'train': {
      const r = ensureRun();
      const why = await r.train((progress) => post({ type: 'step', progress }));
      post({ type: 'ended', why, step: r.step, position: r.position() });
      return;
    }
    case 'stop':
      run?.stop();
      return;
    case 'generate': {
      const r = ensureRun();
      if (r.running) throw new Error('stop the training before asking a question');
      const t0 = performance.now();
      const sql = await r.session.generate(SQL_TEMPLATE.prompt({ question: m.question }), { maxNewTokens: m.maxNewTokens, adapters: m.adapters });
      post({ type: 'answer', id: m.id, sql: sql.trim(), adapters: m.adapters, seconds: (performance.now() - t0) / 1000 });
      return;
    }
  }
}

scope.onmessage = (e: MessageEvent<ToTrainer>) => {
  handle(e.data).catch((err: unknown) => {
    if (e.data.type === 'load') loading = null;
    post({ type: 'error', message: err instanceof Error ? err.message : String(err), ...(e.data.type === 'generate' ? { id: e.data.id } : {}) });
  });
};
