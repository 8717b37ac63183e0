/**
 * The messages between the QLoRA demo's page (components/QloraDemo.tsx) and its two Web Workers: train.worker.ts
 * (TF.js, the model, the training run, generation) and sql.worker.ts (sql.js, the task's database). Plain JSON, so
 * that they cross postMessage as they are.
 */
import type { RunEnd, RunProgress, TabBackendPreference } from '../../../lib/src/webgpu/index.js';

/** Where the built site serves what the demo needs (site/scripts/demoAssets.mjs writes them). */
export interface DemoAssets {
  trainWorker: string;
  sqlWorker: string;
  /** The model folder (config.json, model.safetensors, tokenizer.json, tokenizer_config.json), no trailing slash. */
  model: string;
  /** The train split as JSON: { question, sql }[]. */
  train: string;
  /** The task for the page: { schema, data, test: { question, sql }[] }. */
  task: string;
  /** Folders (ending in '/') holding tfjs-backend-wasm's .wasm files and sql.js' sql-wasm.wasm. */
  tfjsWasm: string;
  sqlWasm: string;
}

export interface TrainSettings {
  steps: number;
  batchSize: number;
  lr: number;
  r: number;
  maxLength: number;
  seed: number;
}

export type ToTrainer =
  | { type: 'load'; assets: Pick<DemoAssets, 'model' | 'train' | 'tfjsWasm'>; prefer: TabBackendPreference; settings: TrainSettings }
  | { type: 'train' }
  | { type: 'stop' }
  | { type: 'generate'; id: number; question: string; adapters: boolean; maxNewTokens: number };

export type FromTrainer =
  | { type: 'backend'; name: 'webgpu' | 'wasm'; line: string }
  | { type: 'status'; text: string }
  | { type: 'loaded'; parameters: string; records: number; seconds: number }
  | { type: 'step'; progress: RunProgress }
  | { type: 'ended'; why: RunEnd; step: number; position: { epoch: number; pos: number } }
  | { type: 'answer'; id: number; sql: string; adapters: boolean; seconds: number }
  | { type: 'error'; message: string; id?: number };

export type ToSql = { type: 'init'; wasm: string; schema: string; data: string } | { type: 'run'; id: number; sql: string };
export type FromSql =
  | { type: 'ready' }
  | { type: 'fatal'; error: string }
  | { type: 'result'; id: number; columns: string[]; rows: (number | string | Uint8Array | null)[][] }
  | { type: 'result'; id: number; error: string };
