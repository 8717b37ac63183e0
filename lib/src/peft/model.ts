/**
 * PeftModel: a base model with LoRA adapters injected by PEFT's rules, everything else frozen. Module paths stay the
 * base model's (`model.layers.0.self_attn.q_proj` becomes a LoraLinear with `base_layer`, `lora_A`, `lora_B`), so
 * saved keys are PEFT's: `base_model.model.<path>.lora_A.weight`.
 */
import { InternalError, shapeText } from '../util/errors.js';
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { SafetensorsReader, writeSafetensors, type RawTensor } from '../io/index.js';
import { floatTensor, toFloat32 } from '../io/floats.js';
import { LARGEST_FINITE, castValues, type FloatDType } from '../numerics/dtype.js';
import { nonFiniteName } from '../quant/bnbFormat.js';
import { Linear, Linear4bit, MetaLinear } from '../layers/linear.js';
import { LoraLinear, MergeError, type MergeReport } from '../layers/lora.js';
import { Module, countParameters, formatTrainableParameters, type ParameterCount } from '../layers/module.js';
import { adapterConfigJson, loraConfig, parseAdapterConfig, PeftConfigError, type LoraConfig } from './config.js';
import { checkTargetModules, isTarget, rankAndAlpha } from './targets.js';

export const ADAPTER_CONFIG_NAME = 'adapter_config.json';
export const ADAPTER_WEIGHTS_NAME = 'adapter_model.safetensors';
const KEY_PREFIX = 'base_model.model.';

function parentOf(root: Module, path: string): { parent: Module; attr: string } {
  const parts = path.split('.');
  const attr = parts.pop()!;
  let m: Module = root;
  for (const p of parts) {
    const c = m.getChild(p);
    if (!c) throw new InternalError(`no module at '${path}', a path the model itself listed`);
    m = c;
  }
  return { parent: m, attr };
}

/** What the base model was loaded from (GemmaConfig.nameOrPath), or null for a model built in memory. */
function modelNameOrPath(model: Module): string | null {
  const c = (model as { config?: { nameOrPath?: unknown } }).config;
  return typeof c?.nameOrPath === 'string' ? c.nameOrPath : null;
}

export interface MergeOptions {
  /** Refuse (before changing any layer) if a merged weight is NaN or ±Inf in `dtype` (PEFT's safe_merge). */
  safeMerge?: boolean;
  /** The dtype the merged weights are stored in; the check rounds to it first. Default float32. */
  dtype?: FloatDType;
}

export { MergeError };

/** W + ΔW of one layer as merge() computes it (float32), rounded to `dtype`, must be finite everywhere. */
function checkMergedFinite(path: string, l: LoraLinear, dtype: FloatDType): void {
  const base = l.baseLayer;
  if (base instanceof MetaLinear) return; // merge() itself refuses a MetaLinear
  const delta = l.getDeltaWeight();
  const w = base.snapshot().values; // what merge() adds ΔW to
  const merged = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) merged[i] = w[i] + delta[i];
  const cast = castValues(merged.slice(), dtype);
  let bad = -1;
  let count = 0;
  for (let i = 0; i < cast.length; i++) {
    if (!Number.isFinite(cast[i])) {
      if (bad < 0) bad = i;
      count++;
    }
  }
  if (bad < 0) return;
  const inF = base.inFeatures;
  const at = `[${Math.floor(bad / inF)}, ${bad % inF}]`;
  const kind = nonFiniteName(cast[bad]);
  const why = Number.isFinite(merged[bad])
    ? ` (${merged[bad].toPrecision(5)} in float32, beyond ${dtype}'s largest finite value ${LARGEST_FINITE[dtype]})`
    : Number.isNaN(merged[bad]) ? '' : ' (already in float32)';
  throw new MergeError(
    `safe merge refused: layer '${path}': W + ΔW is ${kind} at ${at}${why} once stored as ${dtype}; ${count} of ${cast.length} values are not finite. The adapter seems broken; no layer was merged`,
  );
}

export class PeftModel<M extends Module = Module> {
  readonly loraLayers = new Map<string, LoraLinear>();
  constructor(readonly baseModel: M, readonly config: LoraConfig) {}

  /** All trainable tf.Variables (the adapters' A and B). */
  trainableVariables(): tf.Variable[] {
    return this.baseModel.trainableVariables();
  }

  parameterCount(): ParameterCount {
    return countParameters(this.baseModel);
  }

  /** PEFT's `print_trainable_parameters()` line. */
  trainableParametersLine(): string {
    return formatTrainableParameters(this.parameterCount());
  }

  /** The adapters' variables under PEFT's keys, `base_model.model.<path>.lora_A.weight` and `.lora_B.weight`. */
  adapterVariables(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    for (const [path, l] of this.loraLayers) {
      out.set(`${KEY_PREFIX}${path}.lora_A.weight`, l.loraA);
      out.set(`${KEY_PREFIX}${path}.lora_B.weight`, l.loraB);
    }
    return out;
  }

  /** Adapter weights with PEFT's keys. */
  adapterStateDict(): Record<string, RawTensor> {
    const out: Record<string, RawTensor> = {};
    for (const [key, v] of this.adapterVariables()) out[key] = floatTensor(v.dataSync() as Float32Array, [...v.shape]);
    return out;
  }

  /** Write adapter_config.json and adapter_model.safetensors (metadata {"format": "pt"}), as PEFT's save_pretrained. */
  saveAdapter(dir: string): void {
    mkdirSync(dir, { recursive: true });
    writeSafetensors(join(dir, ADAPTER_WEIGHTS_NAME), this.adapterStateDict(), { format: 'pt' });
    const tmp = join(dir, `${ADAPTER_CONFIG_NAME}.tmp-${process.pid}`);
    // as PEFT's save_pretrained: an unset base_model_name_or_path is filled from the model's name_or_path
    const config = this.config.baseModelNameOrPath == null ? { ...this.config, baseModelNameOrPath: modelNameOrPath(this.baseModel) } : this.config;
    writeFileSync(tmp, adapterConfigJson(config));
    renameSync(tmp, join(dir, ADAPTER_CONFIG_NAME));
  }

  /** Load adapter weights saved by PEFT or LoRA Lab into the injected layers (shapes must match). */
  loadAdapterWeights(file: string): void {
    const r = SafetensorsReader.open(file);
    try {
      const expected = new Set<string>();
      for (const [path, l] of this.loraLayers) {
        for (const [which, v] of [['lora_A', l.loraA], ['lora_B', l.loraB]] as const) {
          const key = `${KEY_PREFIX}${path}.${which}.weight`;
          expected.add(key);
          if (!r.has(key)) throw new PeftConfigError(`missing '${key}' (the config targets ${path})`, { file });
          const t = r.read(key);
          if (t.shape.join() !== v.shape.join()) throw new PeftConfigError(`'${key}' has shape ${shapeText(t.shape)}, expected ${shapeText(v.shape)} (r=${l.r})`, { file });
          const vals = tf.tensor(toFloat32(t, file, key), v.shape);
          v.assign(vals);
          vals.dispose();
        }
      }
      const extra = r.names().filter((n) => !expected.has(n) && /\.lora_[AB]\.weight$/.test(n));
      if (extra.length) throw new PeftConfigError(`adapter weights for modules the config does not target: ${extra.slice(0, 3).join(', ')}${extra.length > 3 ? ', ...' : ''}`, { file });
    } finally {
      r.close();
    }
  }

  /**
   * Merge every adapter into its base and return the plain base model (PEFT's merge_and_unload). With `safeMerge`,
   * every layer's W + ΔW is checked first, in the dtype the merged weights will be saved in (`dtype`, default
   * float32), and nothing is merged if any value is not finite there: 3.4e38 is finite in float32 but Inf in bfloat16.
   */
  mergeAndUnload(opts: MergeOptions = {}): { model: M; reports: Map<string, MergeReport> } {
    if (opts.safeMerge) for (const [path, l] of this.loraLayers) checkMergedFinite(path, l, opts.dtype ?? 'float32');
    const reports = new Map<string, MergeReport>();
    for (const [path, l] of this.loraLayers) {
      const { parent, attr } = parentOf(this.baseModel, path);
      reports.set(path, l.merge(opts));
      parent.setChild(attr, l.mergeAndUnload(opts));
    }
    this.loraLayers.clear();
    return { model: this.baseModel, reports };
  }

  /** Merge all adapters in place (reversible with unmergeAdapters); `safeMerge` checks every layer first. */
  mergeAdapters(opts: MergeOptions = {}): Map<string, MergeReport> {
    if (opts.safeMerge) for (const [path, l] of this.loraLayers) checkMergedFinite(path, l, opts.dtype ?? 'float32');
    return new Map([...this.loraLayers].map(([p, l]) => [p, l.merge(opts)]));
  }

  unmergeAdapters(): void {
    for (const l of this.loraLayers.values()) l.unmerge();
  }
}

/**
 * Inject LoRA into `model` by `config` (PEFT's get_peft_model): every matching Linear / Linear4bit is wrapped in a
 * LoraLinear, every other parameter is frozen.
 */
export function getPeftModel<M extends Module>(model: M, config: Partial<LoraConfig> | LoraConfig): PeftModel<M> {
  const cfg = loraConfig(config);
  model.setTrainable(false);
  const peft = new PeftModel(model, cfg);
  const candidates = [...model.namedModules()].filter(([, m]) => m instanceof Linear || m instanceof Linear4bit || m instanceof MetaLinear);
  checkTargetModules(candidates.map(([path]) => path), cfg.targetModules);
  let i = 0;
  for (const [path, m] of candidates) {
    if (!isTarget(path, cfg, path === 'lm_head')) continue;
    const { r, alpha } = rankAndAlpha(path, cfg);
    const { parent, attr } = parentOf(model, path);
    const lora = new LoraLinear(m as Linear | Linear4bit | MetaLinear, {
      r,
      loraAlpha: alpha,
      loraDropout: cfg.loraDropout,
      useRslora: cfg.useRslora,
      initLoraWeights: cfg.initLoraWeights,
      seed: (cfg.seed ?? 0) * 7919 + i++,
    });
    parent.setChild(attr, lora);
    peft.loraLayers.set(path, lora);
  }
  if (peft.loraLayers.size === 0) {
    // every target names a layer (checked above), so exclude_modules or layers_to_transform removed them all
    throw new PeftConfigError(`target modules ${JSON.stringify(cfg.targetModules)} matched no linear layer of the model once exclude_modules ${JSON.stringify(cfg.excludeModules ?? null)} and layers_to_transform ${JSON.stringify(cfg.layersToTransform)} were applied`);
  }
  return peft;
}

/** Load an adapter folder (adapter_config.json + adapter_model.safetensors) onto a base model. */
export function loadPeftAdapter<M extends Module>(model: M, dir: string): PeftModel<M> {
  const cfgPath = join(dir, ADAPTER_CONFIG_NAME);
  const wPath = join(dir, ADAPTER_WEIGHTS_NAME);
  if (!existsSync(cfgPath)) throw new PeftConfigError(`no ${ADAPTER_CONFIG_NAME} (expected a PEFT adapter folder)`, { file: dir });
  if (!existsSync(wPath)) {
    const bin = existsSync(join(dir, 'adapter_model.bin')) ? ' (it has adapter_model.bin: pickled PyTorch files are not read; re-save with safe_serialization=True)' : '';
    throw new PeftConfigError(`no ${ADAPTER_WEIGHTS_NAME}${bin}`, { file: dir });
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(cfgPath, 'utf8'));
  } catch (e) {
    throw new PeftConfigError(`not valid JSON (${(e as Error).message})`, { file: cfgPath });
  }
  const cfg = parseAdapterConfig(json, cfgPath);
  // Loaded weights replace the initialisation; PiSSA's residual is already in a PiSSA-converted base.
  const peft = getPeftModel(model, { ...cfg, initLoraWeights: true });
  (peft.config as LoraConfig).initLoraWeights = cfg.initLoraWeights;
  peft.loadAdapterWeights(wPath);
  return peft;
}
