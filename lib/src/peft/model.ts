/**
 * PeftModel: a base model with LoRA adapters injected by PEFT's rules, everything else frozen. Module paths stay the
 * base model's (`model.layers.0.self_attn.q_proj` becomes a LoraLinear with `base_layer`, `lora_A`, `lora_B`), so
 * saved keys are PEFT's: `base_model.model.<path>.lora_A.weight`.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { SafetensorsReader, writeSafetensors, type RawTensor } from '../io/index.js';
import { floatTensor, toFloat32 } from '../quant/convert.js';
import { Linear, Linear4bit, MetaLinear } from '../layers/linear.js';
import { LoraLinear, type MergeReport } from '../layers/lora.js';
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
    if (!c) throw new Error(`no module at '${path}'`);
    m = c;
  }
  return { parent: m, attr };
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

  /** Adapter weights with PEFT's keys. */
  adapterStateDict(): Record<string, RawTensor> {
    const out: Record<string, RawTensor> = {};
    for (const [path, l] of this.loraLayers) {
      out[`${KEY_PREFIX}${path}.lora_A.weight`] = floatTensor(l.loraA.dataSync() as Float32Array, [...l.loraA.shape]);
      out[`${KEY_PREFIX}${path}.lora_B.weight`] = floatTensor(l.loraB.dataSync() as Float32Array, [...l.loraB.shape]);
    }
    return out;
  }

  /** Write adapter_config.json and adapter_model.safetensors (metadata {"format": "pt"}), as PEFT's save_pretrained. */
  saveAdapter(dir: string): void {
    mkdirSync(dir, { recursive: true });
    writeSafetensors(join(dir, ADAPTER_WEIGHTS_NAME), this.adapterStateDict(), { format: 'pt' });
    const tmp = join(dir, `${ADAPTER_CONFIG_NAME}.tmp-${process.pid}`);
    writeFileSync(tmp, adapterConfigJson(this.config));
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
          if (!r.has(key)) throw new PeftConfigError(`${file}: missing '${key}' (the config targets ${path})`);
          const t = r.read(key);
          if (t.shape.join() !== v.shape.join()) throw new PeftConfigError(`${file}: '${key}' has shape [${t.shape.join(', ')}], expected [${v.shape.join(', ')}] (r=${l.r})`);
          const vals = tf.tensor(toFloat32(t, file, key), v.shape);
          v.assign(vals);
          vals.dispose();
        }
      }
      const extra = r.names().filter((n) => !expected.has(n) && /\.lora_[AB]\.weight$/.test(n));
      if (extra.length) throw new PeftConfigError(`${file}: adapter weights for modules the config does not target: ${extra.slice(0, 3).join(', ')}${extra.length > 3 ? ', ...' : ''}`);
    } finally {
      r.close();
    }
  }

  /** Merge every adapter into its base and return the plain base model (PEFT's merge_and_unload). */
  mergeAndUnload(opts: { safeMerge?: boolean } = {}): { model: M; reports: Map<string, MergeReport> } {
    const reports = new Map<string, MergeReport>();
    for (const [path, l] of this.loraLayers) {
      const { parent, attr } = parentOf(this.baseModel, path);
      reports.set(path, l.merge(opts));
      parent.setChild(attr, l.mergeAndUnload(opts));
    }
    this.loraLayers.clear();
    return { model: this.baseModel, reports };
  }

  /** Merge all adapters in place (reversible with unmergeAdapters). */
  mergeAdapters(opts: { safeMerge?: boolean } = {}): Map<string, MergeReport> {
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
  if (!existsSync(cfgPath)) throw new PeftConfigError(`${dir}: no ${ADAPTER_CONFIG_NAME} (expected a PEFT adapter folder)`);
  if (!existsSync(wPath)) {
    const bin = existsSync(join(dir, 'adapter_model.bin')) ? ' (it has adapter_model.bin: pickled PyTorch files are not read; re-save with safe_serialization=True)' : '';
    throw new PeftConfigError(`${dir}: no ${ADAPTER_WEIGHTS_NAME}${bin}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(cfgPath, 'utf8'));
  } catch (e) {
    throw new PeftConfigError(`${cfgPath}: not valid JSON (${(e as Error).message})`);
  }
  const cfg = parseAdapterConfig(json, cfgPath);
  // Loaded weights replace the initialisation; PiSSA's residual is already in a PiSSA-converted base.
  const peft = getPeftModel(model, { ...cfg, initLoraWeights: true });
  (peft.config as LoraConfig).initLoraWeights = cfg.initLoraWeights;
  peft.loadAdapterWeights(wPath);
  return peft;
}
