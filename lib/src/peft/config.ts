/**
 * LoraConfig with PEFT's fields and defaults (`tuners/lora/config.py`), in camelCase here and in PEFT's snake_case in
 * adapter_config.json, which is written as PEFT writes it: `json.dumps(asdict(config), indent=2, sort_keys=True)` with
 * `inference_mode: true`.
 */
import { PyFloat, pyJsonDumpsIndent, type PyJson } from '../io/pyjson.js';
import type { InitLoraWeights } from '../layers/lora.js';
import { checkInitLoraWeights, checkLoraAlpha, checkLoraDropout, checkLoraRank, PeftConfigError } from '../layers/loraChecks.js';

export type TaskType = 'CAUSAL_LM' | 'SEQ_CLS' | 'SEQ_2_SEQ_LM' | 'TOKEN_CLS' | 'QUESTION_ANS' | 'FEATURE_EXTRACTION';

export interface LoraConfig {
  r: number;
  loraAlpha: number;
  loraDropout: number;
  /** A list (exact or suffix match), a regex string (full match), or 'all-linear'. */
  targetModules: string[] | string | null;
  excludeModules?: string[] | string | null;
  useRslora: boolean;
  initLoraWeights: InitLoraWeights;
  layersToTransform: number[] | number | null;
  layersPattern: string[] | string | null;
  rankPattern: Record<string, number>;
  alphaPattern: Record<string, number>;
  bias: 'none' | 'all' | 'lora_only';
  modulesToSave: string[] | null;
  taskType: TaskType | null;
  baseModelNameOrPath: string | null;
  inferenceMode: boolean;
  /** Seed for initialisation and dropout (LoRA Lab's addition; not written to adapter_config.json). */
  seed?: number;
}

/**
 * The target modules when none are given, in the library, the CLI and the memory model alike: PEFT's default for
 * Gemma, `TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING["gemma"]` (peft/utils/constants.py), which is what
 * `LoraConfig(target_modules=None)` resolves to on a Gemma model.
 */
export const DEFAULT_TARGET_MODULES: readonly string[] = Object.freeze(['q_proj', 'v_proj']);
/** Where DEFAULT_TARGET_MODULES comes from, for messages that print it. */
export const DEFAULT_TARGET_MODULES_SOURCE = "PEFT's default for Gemma";

/** PEFT's LoraConfig defaults (`r: int = 8`, `lora_alpha: int = 8`, `lora_dropout: float = 0.0`): their one home. */
export const LORA_DEFAULTS = Object.freeze({ r: 8, loraAlpha: 8, loraDropout: 0 } as const);

/** PEFT's defaults (LORA_DEFAULTS; target_modules None -> DEFAULT_TARGET_MODULES). */
export function loraConfig(partial: Partial<LoraConfig> = {}): LoraConfig {
  const c: LoraConfig = {
    ...LORA_DEFAULTS,
    targetModules: null,
    excludeModules: null,
    useRslora: false,
    initLoraWeights: true,
    layersToTransform: null,
    layersPattern: null,
    rankPattern: {},
    alphaPattern: {},
    bias: 'none',
    modulesToSave: null,
    taskType: null,
    baseModelNameOrPath: null,
    inferenceMode: false,
    ...partial,
  };
  validateLoraConfig(c);
  return c;
}

export { PeftConfigError };

/** `file` names adapter_config.json when the config came from one. */
export function validateLoraConfig(c: LoraConfig, file?: string): void {
  checkLoraRank(c.r, file);
  checkLoraAlpha(c.loraAlpha, file);
  checkLoraDropout(c.loraDropout, file);
  if (c.bias !== 'none') throw new PeftConfigError(`'${c.bias}' is not supported`, { file, field: 'bias', expected: "'none' (LoRA Lab trains bias='none', PEFT's default)" });
  checkInitLoraWeights(c.initLoraWeights, file);
  for (const [k, v] of Object.entries(c.rankPattern)) checkLoraRank(v, file, `rank_pattern['${k}']`);
}

const num = (x: number): number | PyFloat => (Number.isInteger(x) ? x : new PyFloat(x));

/** adapter_config.json text, byte for byte in PEFT's layout (sorted keys, indent 2). */
export function adapterConfigJson(c: LoraConfig): string {
  const list = (v: string[] | string | null | undefined): PyJson => (v === null || v === undefined ? null : Array.isArray(v) ? [...v] : v);
  const d: Record<string, PyJson> = {
    alpha_pattern: Object.fromEntries(Object.entries(c.alphaPattern).map(([k, v]) => [k, num(v)])),
    auto_mapping: null,
    base_model_name_or_path: c.baseModelNameOrPath,
    bias: c.bias,
    exclude_modules: list(c.excludeModules),
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: c.initLoraWeights,
    layer_replication: null,
    layers_pattern: list(c.layersPattern),
    layers_to_transform: c.layersToTransform === null ? null : Array.isArray(c.layersToTransform) ? [...c.layersToTransform] : c.layersToTransform,
    loftq_config: {},
    lora_alpha: num(c.loraAlpha),
    lora_bias: false,
    lora_dropout: new PyFloat(c.loraDropout),
    megatron_config: null,
    megatron_core: 'megatron.core',
    modules_to_save: list(c.modulesToSave),
    peft_type: 'LORA',
    r: c.r,
    rank_pattern: { ...c.rankPattern },
    revision: null,
    target_modules: list(c.targetModules),
    task_type: c.taskType,
    use_dora: false,
    use_rslora: c.useRslora,
  };
  return pyJsonDumpsIndent(d, { indent: 2, sortKeys: true });
}

/** Read adapter_config.json (PEFT's fields; unknown ones are ignored, as PEFT does). */
export function parseAdapterConfig(json: unknown, file = 'adapter_config.json'): LoraConfig {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new PeftConfigError('expected a JSON object', { file });
  const j = json as Record<string, unknown>;
  if (j.peft_type === undefined) throw new PeftConfigError(`missing field 'peft_type'`, { file });
  if (j.peft_type !== 'LORA') throw new PeftConfigError(`peft_type is ${JSON.stringify(j.peft_type)}; LoRA Lab loads "LORA" adapters`, { file });
  if (j.use_dora === true) throw new PeftConfigError('use_dora is true; DoRA adapters are not supported', { file });
  if (j.fan_in_fan_out === true) throw new PeftConfigError('fan_in_fan_out is true (Conv1D layers); Gemma uses nn.Linear', { file });
  const strList = (k: string): string[] | string | null => {
    const v = j[k];
    if (v === undefined || v === null) return null;
    if (typeof v === 'string') return v;
    if (Array.isArray(v) && v.every((e) => typeof e === 'string')) return v as string[];
    throw new PeftConfigError(`field '${k}' must be a string or a list of strings, got ${JSON.stringify(v)}`, { file });
  };
  const numMap = (k: string): Record<string, number> => {
    const v = j[k] ?? {};
    if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.values(v).every((x) => typeof x === 'number')) throw new PeftConfigError(`field '${k}' must be an object of numbers`, { file });
    return v as Record<string, number>;
  };
  const ltt = j.layers_to_transform;
  if (!(ltt === undefined || ltt === null || Number.isInteger(ltt) || (Array.isArray(ltt) && ltt.every(Number.isInteger)))) {
    throw new PeftConfigError(`field 'layers_to_transform' must be an integer or a list of integers, got ${JSON.stringify(ltt)}`, { file });
  }
  const c: LoraConfig = {
    r: (j.r ?? LORA_DEFAULTS.r) as number,
    loraAlpha: (j.lora_alpha ?? LORA_DEFAULTS.loraAlpha) as number,
    loraDropout: (j.lora_dropout ?? LORA_DEFAULTS.loraDropout) as number,
    targetModules: strList('target_modules'),
    excludeModules: strList('exclude_modules'),
    useRslora: Boolean(j.use_rslora ?? false),
    initLoraWeights: (j.init_lora_weights ?? true) as InitLoraWeights,
    layersToTransform: (ltt ?? null) as number[] | number | null,
    layersPattern: strList('layers_pattern'),
    rankPattern: numMap('rank_pattern'),
    alphaPattern: numMap('alpha_pattern'),
    bias: (j.bias ?? 'none') as LoraConfig['bias'],
    modulesToSave: strList('modules_to_save') as string[] | null,
    taskType: (j.task_type ?? null) as TaskType | null,
    baseModelNameOrPath: (j.base_model_name_or_path ?? null) as string | null,
    inferenceMode: Boolean(j.inference_mode ?? true),
  };
  // An adapter loaded for inference does not re-initialise: init_lora_weights only matters for new adapters.
  if (typeof c.initLoraWeights === 'string' && !['gaussian', 'pissa'].includes(c.initLoraWeights)) c.initLoraWeights = true;
  validateLoraConfig(c, file);
  return c;
}
