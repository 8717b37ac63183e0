/**
 * Build a GemmaForCausalLM from a Hugging Face folder (config.json, model.safetensors or sharded, tokenizer.json).
 *
 * With `loadIn4bit`, every linear layer except the output head is quantized while streaming, tensor by tensor: the
 * dense copy of one weight exists only while it is being quantized, so peak memory stays near the size of the
 * quantized model. A checkpoint that already holds bitsandbytes 4-bit keys loads its quantized layers as they are.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointWeights, SafetensorsReader, TextTokenizer, type RawTensor } from '../../io/index.js';
import { findQuantizedParams, unpackQuantState } from '../../quant/bnbFormat.js';
import { toFloat32 } from '../../io/floats.js';
import { dequantize4bit, type QuantState4bit } from '../../quant/quantize4bit.js';
import type { QuantType } from '../../quant/codebooks.js';
import { BNB_4BIT_DEFAULTS } from '../../quant/defaults.js';
import { toBf16 } from '../../numerics/bf16.js';
import { Embedding } from '../../layers/embedding.js';
import { Linear, Linear4bit, MetaLinear, type ComputeDtype } from '../../layers/linear.js';
import { GemmaRMSNorm } from '../../layers/norm.js';
import { Rng } from '../../util/rng.js';
import { ConfigError, gemmaWeightShapes, parseGemmaConfig, type GemmaConfig } from './config.js';
import type { GemmaForCausalLM, AnyLinear } from './model.js';
import { assembleGemma } from './build.js';
import { shapeText } from '../../util/errors.js';

export interface LoadOptions {
  /** Quantize linear layers to 4 bits while loading (bitsandbytes' `load_in_4bit`). */
  loadIn4bit?: boolean;
  bnb4bitQuantType?: QuantType;
  bnb4bitUseDoubleQuant?: boolean;
  bnb4bitComputeDtype?: ComputeDtype;
  /** Blocksize of the 4-bit quantization (default BNB_4BIT_DEFAULTS.blocksize, bitsandbytes' 64). */
  bnb4bitBlocksize?: number;
  /** Values dense linear layers keep: 'bfloat16' rounds them to bf16 (default for bf16 checkpoints). */
  dtype?: ComputeDtype;
  /** Load tokenizer.json when present (default true). */
  tokenizer?: boolean;
  /**
   * Load even if the checkpoint holds tensors the model does not use (default false: they mean config.json does not
   * describe the checkpoint, e.g. num_hidden_layers 3 for a 4-layer file, and would be silently ignored).
   */
  allowUnusedTensors?: boolean;
  onProgress?: (p: { done: number; total: number; tensor: string }) => void;
}

export interface LoadedGemma {
  model: GemmaForCausalLM;
  config: GemmaConfig;
  tokenizer: TextTokenizer | null;
  dir: string;
  /** Checkpoint tensors the model did not use. */
  unused: string[];
}

export function readGemmaConfig(dir: string): GemmaConfig {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) throw new ConfigError(`${dir}: no config.json (expected a Hugging Face model folder)`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ConfigError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  // like from_pretrained(path): the name the model was loaded by is the folder as given
  return { ...parseGemmaConfig(json, path), nameOrPath: dir };
}

export function loadGemma(dir: string, opts: LoadOptions = {}): LoadedGemma {
  const config = readGemmaConfig(dir);
  const ckpt = CheckpointWeights.open(dir);
  try {
    const { model, unused } = buildGemma(config, ckpt, dir, opts);
    const tokenizer = (opts.tokenizer ?? true) && existsSync(join(dir, 'tokenizer.json')) ? TextTokenizer.fromDir(dir) : null;
    return { model, config, tokenizer, dir, unused };
  } finally {
    ckpt.close();
  }
}

/** The tensors a model is built from: a checkpoint folder's, or one safetensors file's bytes (`gemmaFromBytes`). */
export type WeightSource = Pick<CheckpointWeights, 'names' | 'has' | 'info' | 'read' | 'readElements' | 'get' | 'fileOf' | 'totalBytes'>;

/**
 * A Gemma from a config.json object and the bytes of its model.safetensors, with no file system (a browser tab, a
 * fetched model): the same checks and the same layers as `loadGemma`. `name` stands for the file in messages.
 */
export function gemmaFromBytes(src: { config: unknown; safetensors: Uint8Array; tokenizer?: object; tokenizerConfig?: Record<string, unknown>; name?: string }, opts: LoadOptions = {}): LoadedGemma {
  const name = src.name ?? '<model>';
  const config = { ...parseGemmaConfig(src.config, `${name}/config.json`), nameOrPath: name };
  const file = `${name}/model.safetensors`;
  const r = SafetensorsReader.fromBytes(src.safetensors, file);
  const weights: WeightSource = {
    names: () => r.names(),
    has: (n) => r.has(n),
    info: (n) => r.info(n),
    read: (n) => r.read(n),
    readElements: (n, s, e) => r.readElements(n, s, e),
    get: (n) => (r.has(n) ? r.read(n) : undefined),
    fileOf: () => file,
    totalBytes: () => r.tensors.reduce((a, t) => a + t.dataOffsets[1] - t.dataOffsets[0], 0),
  };
  const { model, unused } = buildGemma(config, weights, name, opts);
  const tokenizer = (opts.tokenizer ?? true) && src.tokenizer ? TextTokenizer.fromJson(src.tokenizer, src.tokenizerConfig ?? {}, `${name}/tokenizer.json`) : null;
  return { model, config, tokenizer, dir: name, unused };
}

function buildGemma(config: GemmaConfig, ckpt: WeightSource, dir: string, opts: LoadOptions): { model: GemmaForCausalLM; unused: string[] } {
  const reader = new GemmaWeightReader(config, ckpt, dir, opts);
  const model = assembleGemma(config, { embedding: (n) => reader.embedding(n), linear: (n) => reader.linear(n), norm: (p) => reader.norm(p) });
  const unused = reader.unused();
  if (unused.length && !opts.allowUnusedTensors) throw unusedError(dir, config, unused);
  return { model, unused };
}

/**
 * Turns one checkpoint's tensors into layers: each tensor checked against the shape config.json implies, counted as
 * used (what is left over is reported), and its bytes added to the progress.
 */
class GemmaWeightReader {
  private readonly expected: Map<string, number[]>;
  /** Weights the checkpoint already holds in bitsandbytes' 4-bit layout. */
  private readonly quantized: Set<string>;
  private readonly used = new Set<string>();
  private readonly total: number;
  private done = 0;
  /** Dense layers keep float32 values unless asked, or unless the checkpoint is bf16 (then bf16 values). */
  private readonly denseDtype: ComputeDtype;

  constructor(
    private readonly config: GemmaConfig,
    private readonly ckpt: WeightSource,
    private readonly dir: string,
    private readonly opts: LoadOptions,
  ) {
    this.expected = gemmaWeightShapes(config);
    this.quantized = new Set(findQuantizedParams(ckpt.names()).map((q) => q.param));
    this.total = ckpt.totalBytes();
    this.denseDtype = opts.dtype ?? (config.torchDtype === 'bfloat16' ? 'bfloat16' : 'float32');
  }

  unused(): string[] {
    return this.ckpt.names().filter((n) => !this.used.has(n));
  }

  private markUsed(name: string): void {
    this.used.add(name);
    const t = this.ckpt.info(name);
    this.done += t.dataOffsets[1] - t.dataOffsets[0];
    this.opts.onProgress?.({ done: this.done, total: this.total, tensor: name });
  }

  /** A 4-bit weight's tensors: the packed codes and every `<param>.*` piece of its quant state. */
  private markQuantStateUsed(param: string): void {
    for (const k of this.ckpt.names()) if (k === param || k.startsWith(`${param}.`)) this.markUsed(k);
  }

  /** A dense tensor's header, checked against the shape config.json implies. */
  private checkDense(name: string): void {
    const want = this.expected.get(name);
    if (!this.ckpt.has(name)) {
      throw new ConfigError(`${this.dir}: missing tensor '${name}' (expected shape [${want?.join(', ')}] for a Gemma with ${this.config.numHiddenLayers} layers)`);
    }
    const shape = this.ckpt.info(name).shape;
    if (want && shape.join() !== want.join()) {
      throw new ConfigError(`${this.ckpt.fileOf(name)}: tensor '${name}' has shape ${shapeText(shape)}, config.json implies ${shapeText(want)}`);
    }
  }

  private readDense(name: string): { raw: RawTensor; values: () => Float32Array } {
    this.checkDense(name);
    const raw = this.ckpt.read(name);
    this.markUsed(name);
    return { raw, values: () => toFloat32(raw, this.ckpt.fileOf(name), name) };
  }

  private readQuantState(param: string): QuantState4bit {
    return unpackQuantState(param, (k) => this.ckpt.get(k), this.ckpt.fileOf(param));
  }

  linear(name: string): Linear | Linear4bit {
    const param = `${name}.weight`;
    const [out, inF] = this.expected.get(param)!;
    const bias = this.config.attentionBias && this.expected.has(`${name}.bias`) ? this.readDense(`${name}.bias`).values() : null;
    if (this.quantized.has(param)) return this.storedLinear4bit(param, [out, inF], bias);
    if (this.opts.loadIn4bit) return this.streamedLinear4bit(param, [out, inF], bias);
    return new Linear(inF, out, { weight: this.readDense(param).values(), bias, dtype: this.denseDtype, trainable: false });
  }

  /** A weight the checkpoint holds in 4 bits, loaded as it is; it computes in its quant state's dtype unless asked. */
  private storedLinear4bit(param: string, [out, inF]: number[], bias: Float32Array | null): Linear4bit {
    const state = this.readQuantState(param);
    if (state.shape.join() !== [out, inF].join()) throw new ConfigError(`${this.ckpt.fileOf(param)}: 4-bit '${param}' has shape ${shapeText(state.shape)}, expected [${out}, ${inF}]`);
    this.markQuantStateUsed(param);
    return new Linear4bit(state, { computeDtype: this.opts.bnb4bitComputeDtype ?? (state.dtype === 'float32' ? 'float32' : 'bfloat16'), bias });
  }

  /**
   * A dense weight quantized while it streams: a million elements at a time from the file, rounded to the compute
   * dtype and quantized, so the whole weight never exists in float32 (at Gemma-2B's MLP shapes that was 134 MB per
   * tensor, plus garbage).
   */
  private streamedLinear4bit(param: string, [out, inF]: number[], bias: Float32Array | null): Linear4bit {
    this.checkDense(param);
    const file = this.ckpt.fileOf(param);
    const o = this.opts;
    const layer = Linear4bit.fromPieces(out, inF, (s, e) => toFloat32(this.ckpt.readElements(param, s, e), file, param), {
      quantType: o.bnb4bitQuantType,
      blocksize: o.bnb4bitBlocksize,
      doubleQuant: o.bnb4bitUseDoubleQuant,
      computeDtype: o.bnb4bitComputeDtype ?? BNB_4BIT_DEFAULTS.computeDtype,
      bias,
    });
    this.markUsed(param);
    return layer;
  }

  embedding(name: string): Embedding {
    const [V, H] = this.expected.get(name)!;
    if (this.quantized.has(name)) {
      // A file quantized with `loralab quantize` without --skip holds a 4-bit embedding: LoRA Lab computes with a
      // dense table, so it is dequantized into bf16 storage.
      const state = this.readQuantState(name);
      this.markQuantStateUsed(name);
      return new Embedding(V, H, { bf16: toBf16(dequantize4bit(state)) });
    }
    const { raw, values } = this.readDense(name);
    if (raw.dtype !== 'BF16') return new Embedding(V, H, { f32: values() });
    // The bytes were read for this tensor alone: view them as bf16 instead of copying (at Gemma-2B's 1 GB table a
    // copy doubled the loader's peak memory). Only an odd offset into a shared buffer needs the copy.
    const d = raw.data;
    const bits = d.byteOffset % 2 === 0 ? new Uint16Array(d.buffer, d.byteOffset, d.byteLength / 2) : new Uint16Array(d.slice().buffer);
    return new Embedding(V, H, { bf16: bits });
  }

  norm(path: string): GemmaRMSNorm {
    return new GemmaRMSNorm(this.config.hiddenSize, this.config.rmsNormEps, this.readDense(`${path}.weight`).values());
  }
}

function unusedError(dir: string, config: GemmaConfig, unused: string[]): ConfigError {
  const layers = [...new Set(unused.map((n) => /^model\.layers\.(\d+)\./.exec(n)?.[1]).filter((l) => l !== undefined).map(Number))].filter((l) => l >= config.numHiddenLayers);
  const hint = layers.length
    ? `: it has layer${layers.length > 1 ? 's' : ''} ${layers.slice(0, 3).join(', ')}${layers.length > 3 ? ', ...' : ''} but ${config.configFile ?? 'config.json'} says num_hidden_layers ${config.numHiddenLayers}`
    : unused.includes('lm_head.weight') && config.tieWordEmbeddings ? `: lm_head.weight is there but ${config.configFile ?? 'config.json'} says tie_word_embeddings true` : '';
  const list = `${unused.slice(0, 3).join(', ')}${unused.length > 3 ? `, ... (${unused.length} in all)` : ''}`;
  return new ConfigError(`${dir}: the checkpoint holds tensors the model does not use (${list})${hint}; fix config.json, or pass allowUnusedTensors to load anyway`);
}

/**
 * A Gemma with random weights (normal, std `initializerRange`; norms at zero as transformers initialises them), for
 * tests, demos and pre-training from scratch.
 */
export function createGemma(config: GemmaConfig, opts: { seed?: number; initializerRange?: number; dtype?: ComputeDtype; trainable?: boolean; meta?: boolean } = {}): GemmaForCausalLM {
  const rng = new Rng(opts.seed ?? 0);
  const std = opts.initializerRange ?? 0.02;
  const shapes = gemmaWeightShapes(config);
  const linear = (path: string): AnyLinear => {
    const [out, inF] = shapes.get(`${path}.weight`)!;
    if (opts.meta) return new MetaLinear(inF, out, config.attentionBias && path.includes('self_attn'));
    return new Linear(inF, out, { weight: rng.normalArray(out * inF, std), dtype: opts.dtype ?? 'float32', trainable: opts.trainable ?? false });
  };
  const embedding = () => (opts.meta ? new Embedding(config.vocabSize, config.hiddenSize, { meta: true }) : new Embedding(config.vocabSize, config.hiddenSize, { f32: rng.normalArray(config.vocabSize * config.hiddenSize, std) }));
  const model = assembleGemma(config, { embedding, linear, norm: () => new GemmaRMSNorm(config.hiddenSize, config.rmsNormEps) });
  if (opts.trainable) model.setTrainable(true);
  return model;
}
