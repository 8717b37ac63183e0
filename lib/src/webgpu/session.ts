/**
 * QLoRA on the GPU in a few calls, for a browser tab or Node with the `webgpu` package:
 *
 *   await startWebGpu();                                      // TF.js's webgpu backend, or a clear error saying why not
 *   const s = await QloraSession.fromUrl('/models/gemma-micro', { r: 8 });   // 4-bit NF4 base + LoRA adapters
 *   const { loss } = await s.step(s.batch(records));          // forward, backward, AdamW, all on the device
 *   const sql = await s.generate('Question: ...\nSQL:');      // greedy decoding, one id read back per token
 *
 * The 4-bit weights are uploaded once and dequantized on the GPU by LoRA Lab's WGSL kernel, the tied head's table is
 * resident there, the LoRA weights and AdamW's moments are tf.Variables on the device; each step reads back only its
 * loss and gradient norm (train/deviceStep.ts). On any other backend (wasm, cpu) the same calls run the same math.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend/init.js';
import { gemmaFromBytes, type LoadedGemma } from '../models/gemma/load.js';
import type { GemmaForCausalLM } from '../models/gemma/model.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import { getPeftModel, type PeftModel } from '../peft/model.js';
import { DEFAULT_TARGET_MODULES, LORA_DEFAULTS } from '../peft/config.js';
import type { InitLoraWeights } from '../layers/lora.js';
import { QLORA_LOAD_OPTIONS, recipeLoraAlpha } from '../train/methods.js';
import { buildExample, padBatch, SQL_TEMPLATE, type Batch, type PromptTemplate } from '../train/data.js';
import { DeviceTrainStep, type DeviceStepOptions, type DeviceStepResult, type StepBatch } from '../train/deviceStep.js';
import { WebGpuError } from './errors.js';

export interface AdapterInfo {
  vendor: string;
  architecture: string;
  description: string;
}

/** The adapter TF.js's webgpu backend runs on, or null when another backend is active. */
export function webgpuAdapterInfo(): AdapterInfo | null {
  if (tf.getBackend() !== 'webgpu') return null;
  const info = (tf.backend() as { adapterInfo?: { vendor?: string; architecture?: string; description?: string } }).adapterInfo;
  return { vendor: info?.vendor ?? '', architecture: info?.architecture ?? '', description: info?.description ?? '' };
}

/**
 * Start TF.js on the webgpu backend (navigator.gpu in a browser; the optional `webgpu` package in Node) and say which
 * adapter it found. Throws BackendError naming the reason when there is no adapter: `initBackend` is the one place
 * that decides, so a caller wanting the wasm fallback calls `initBackend()` instead.
 */
export async function startWebGpu(opts: { log?: boolean } = {}): Promise<AdapterInfo> {
  await initBackend({ log: opts.log ?? false, env: { LORALAB_BACKEND: 'webgpu' } });
  return webgpuAdapterInfo()!;
}

export interface SessionOptions extends Partial<DeviceStepOptions> {
  /** LoRA rank (default 8) and alpha (default 2r). */
  r?: number;
  loraAlpha?: number;
  /** As in LoraConfig: names, a regex string, or 'all-linear' (default: PEFT's default for Gemma). */
  targetModules?: string[] | string;
  initLoraWeights?: InitLoraWeights;
  seed?: number;
  /** Quantize the base to 4-bit NF4 with double quantization and bf16 compute (QLoRA; default true). */
  loadIn4bit?: boolean;
}

export interface ModelFiles {
  /** config.json, parsed. */
  config: unknown;
  /** model.safetensors, as bytes. */
  safetensors: Uint8Array;
  /** tokenizer.json (and tokenizer_config.json), parsed, if the session should encode text. */
  tokenizer?: object;
  tokenizerConfig?: Record<string, unknown>;
  /** Stands for the folder in error messages. */
  name?: string;
}

/** Fetch a Hugging Face model folder served over HTTP (config.json, model.safetensors, tokenizer.json if present). */
export async function fetchModelFiles(baseUrl: string, fetchImpl: typeof fetch = fetch): Promise<ModelFiles> {
  const url = (f: string) => `${baseUrl.replace(/\/$/, '')}/${f}`;
  const get = async (f: string, required: boolean): Promise<Response | null> => {
    const r = await fetchImpl(url(f));
    if (r.ok) return r;
    if (required) throw new WebGpuError(`HTTP ${r.status}`, { file: url(f), expected: 'a Hugging Face model folder with config.json and model.safetensors' });
    return null;
  };
  const json = async (r: Response | null, f: string): Promise<Record<string, unknown> | undefined> => {
    if (!r) return undefined;
    try {
      return (await r.json()) as Record<string, unknown>;
    } catch (e) {
      throw new WebGpuError(`not valid JSON (${(e as Error).message})`, { file: url(f), cause: e });
    }
  };
  const [config, weights, tok, tokCfg] = await Promise.all([get('config.json', true), get('model.safetensors', true), get('tokenizer.json', false), get('tokenizer_config.json', false)]);
  return {
    config: await json(config, 'config.json'),
    safetensors: new Uint8Array(await weights!.arrayBuffer()),
    tokenizer: await json(tok, 'tokenizer.json'),
    tokenizerConfig: await json(tokCfg, 'tokenizer_config.json'),
    name: baseUrl,
  };
}

export class QloraSession {
  readonly trainer: DeviceTrainStep;
  private constructor(
    readonly loaded: LoadedGemma,
    readonly peft: PeftModel<GemmaForCausalLM>,
    params: Map<string, tf.Variable>,
    opts: DeviceStepOptions,
  ) {
    this.trainer = new DeviceTrainStep(loaded.model, params, opts);
  }

  /** Load a model from its files' bytes and attach LoRA adapters (PEFT's names and initialisation). */
  static fromFiles(files: ModelFiles, opts: SessionOptions = {}): QloraSession {
    const loaded = gemmaFromBytes(files, opts.loadIn4bit === false ? {} : QLORA_LOAD_OPTIONS);
    const r = opts.r ?? LORA_DEFAULTS.r;
    const peft = getPeftModel(loaded.model, {
      r,
      loraAlpha: opts.loraAlpha ?? recipeLoraAlpha(r),
      loraDropout: 0,
      targetModules: opts.targetModules ?? [...DEFAULT_TARGET_MODULES],
      initLoraWeights: opts.initLoraWeights ?? true,
      taskType: 'CAUSAL_LM',
      seed: opts.seed ?? 0,
    });
    const step: DeviceStepOptions = { lr: opts.lr ?? 2e-4 };
    for (const k of ['totalSteps', 'warmupSteps', 'schedule', 'weightDecay', 'maxGradNorm', 'beta2'] as const) if (opts[k] !== undefined) Object.assign(step, { [k]: opts[k] });
    return new QloraSession(loaded, peft, peft.adapterVariables(), step);
  }

  static async fromUrl(baseUrl: string, opts: SessionOptions = {}): Promise<QloraSession> {
    return QloraSession.fromFiles(await fetchModelFiles(baseUrl), opts);
  }

  get model(): GemmaForCausalLM {
    return this.loaded.model;
  }

  get tokenizer(): TextTokenizer {
    if (!this.loaded.tokenizer) throw new WebGpuError('the session has no tokenizer', { file: this.loaded.dir, expected: 'tokenizer.json among the files, to encode text' });
    return this.loaded.tokenizer;
  }

  /** A padded batch of records through a prompt template (default: the SQL task's `Question: …\nSQL:` + ` sql`). */
  batch(records: Record<string, string>[], opts: { template?: PromptTemplate; maxLength?: number } = {}): Batch {
    const cfg = this.loaded.config;
    const ex = records.map((r) => buildExample(this.tokenizer, opts.template ?? SQL_TEMPLATE, r, { maxLength: opts.maxLength ?? 128, eosId: cfg.eosTokenId }));
    return padBatch(ex, cfg.padTokenId);
  }

  /** One QLoRA step on the device; resolves when its loss has been read back. */
  step(batch: StepBatch): Promise<DeviceStepResult> {
    this.model.train();
    return this.trainer.run(batch);
  }

  /**
   * Greedy continuation of `prompt` (text, or ids with <bos>), decoded; stops at <eos> or `maxNewTokens`. With
   * `adapters: false` it is the base model's answer (see withAdaptersOff).
   */
  async generate(prompt: string | number[], opts: { maxNewTokens?: number; adapters?: boolean } = {}): Promise<string> {
    const ids = typeof prompt === 'string' ? this.tokenizer.encode(prompt) : [...prompt];
    const run = () => generateGreedy(this.model, ids, opts.maxNewTokens ?? 64);
    const out = await (opts.adapters === false ? this.withAdaptersOff(run) : run());
    return this.loaded.tokenizer ? this.tokenizer.decode(out, { skipSpecialTokens: true }) : out.join(' ');
  }

  /**
   * Run `fn` as the base model: every adapter's B is set to 0 meanwhile, so y = W x + scaling · B (A x) = W x exactly,
   * and put back bit for bit afterwards (a copy of each B is kept on the device). No step may run meanwhile.
   */
  async withAdaptersOff<T>(fn: () => Promise<T>): Promise<T> {
    const saved = [...this.peft.loraLayers.values()].map((l) => {
      const copy = tf.clone(l.loraB);
      tf.tidy(() => l.loraB.assign(tf.zerosLike(l.loraB)));
      return { b: l.loraB, copy };
    });
    try {
      return await fn();
    } finally {
      for (const { b, copy } of saved) {
        b.assign(copy);
        copy.dispose();
      }
    }
  }

  dispose(): void {
    this.trainer.dispose();
    this.model.dispose();
  }
}


/**
 * Greedy decoding with asynchronous reads: each token's argmax is computed on the device from the last position's
 * hidden state (only that row goes through the head) and one int32 comes back.
 */
export async function generateGreedy(model: GemmaForCausalLM, promptIds: number[], maxNewTokens: number): Promise<number[]> {
  const ids = [...promptIds];
  const out: number[] = [];
  const head = model.lmHead ?? model.model.embedTokens;
  const wasTraining = model.training;
  model.eval();
  try {
    for (let k = 0; k < maxNewTokens; k++) {
      const next = tf.tidy(() => {
        const h = model.model.forward([ids]);
        const last = h.slice([0, ids.length - 1, 0], [1, 1, h.shape[2]]);
        return tf.argMax(head.project(last).reshape([-1]), 0);
      });
      const t = (await next.data())[0];
      next.dispose();
      if (t === model.config.eosTokenId) break;
      ids.push(t);
      out.push(t);
    }
  } finally {
    model.train(wasTraining);
  }
  return out;
}
