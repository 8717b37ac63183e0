/** What the WebGPU test page (page.ts) is asked and answers, shared by the page, the tests and the bench. */
import type { AdapterInfo } from '../../lib/src/webgpu/index.js';
import type { InitLoraWeights } from '../../lib/src/layers/lora.js';

export interface StepSpec {
  /** A folder served under /models/ (test/fixtures/gemma-tiny, datasets/models/gemma-micro). */
  model: string;
  records: { question: string; sql: string }[];
  maxLength: number;
  batchSize: number;
  steps: number;
  seed: number;
  lr: number;
  r: number;
  loraAlpha: number;
  targetModules: string[];
  initLoraWeights: InitLoraWeights;
}

export interface MemorySample {
  numTensors: number;
  numBytes: number;
  /** The webgpu backend's buffer manager: bytes in buffers in use, and allocated (in use + pooled). */
  numBytesInGPU: number;
  numBytesAllocatedInGPU: number;
  usedBuffers: number;
  freeBuffers: number;
}

export interface StepReport {
  adapter: AdapterInfo | null;
  /** Loss and gradients (by PEFT parameter name) on all the records as one batch, before any step. */
  loss0: number;
  grads0: Record<string, number[]>;
  /** Per step: its loss, the GPU downloads during it, its time, and the memory counters after it. */
  losses: number[];
  downloads: number[];
  seconds: number[];
  memory: MemorySample[];
}

export interface DequantReport {
  adapter: AdapterInfo | null;
  cases: { name: string; n: number; chunks: number; chunkedMismatches: number; wholeMismatches: number }[];
  roundMismatches: number;
  roundValues: number;
}

export interface BenchReport {
  adapter: AdapterInfo | null;
  steps: { loss: number; seconds: number; tokens: number }[];
  dequant: { shape: [number, number]; outputBytes: number; seconds: number };
  copy: { bytes: number; seconds: number };
}
