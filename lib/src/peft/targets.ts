/**
 * Which modules get an adapter, with PEFT's rules (`check_target_module_exists`):
 * - target_modules as a string: a regex that must match the whole module name (re.fullmatch);
 * - as a list: a name matches if it equals an entry or ends with "." + entry;
 * - 'all-linear': every linear layer except the output head;
 * - layers_to_transform: keep only modules whose layer index (the number after `layers_pattern`, default any of
 *   layers|h|blocks|block|layer) is listed;
 * - rank_pattern / alpha_pattern: the first key matching `(.*\.)?key$` overrides r / lora_alpha.
 */
import type { LoraConfig } from './config.js';
import { PeftConfigError } from './config.js';

/** PEFT's default target modules for Gemma (`TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING`). */
export const GEMMA_DEFAULT_TARGETS = ['q_proj', 'v_proj'];

function fullMatch(pattern: string, s: string): boolean {
  try {
    return new RegExp(`^(?:${pattern})$`).test(s);
  } catch {
    throw new PeftConfigError(`target pattern '${pattern}' is not a valid regular expression`);
  }
}

export function matchesTarget(name: string, targets: string[] | string): boolean {
  if (typeof targets === 'string') return fullMatch(targets, name);
  return targets.some((t) => name === t || name.endsWith(`.${t}`));
}

export function layerIndex(name: string, layersPattern: string[] | string | null): number | null {
  const patterns = layersPattern === null ? ['layers', 'h', 'blocks', 'block', 'layer'] : Array.isArray(layersPattern) ? layersPattern : [layersPattern];
  for (const p of patterns) {
    const m = new RegExp(`(?:^|\\.)${p}\\.(\\d+)\\.`).exec(name);
    if (m) return Number(m[1]);
  }
  return null;
}

/**
 * Is module `name` (a linear layer) a target? `isOutputLayer` marks lm_head, which 'all-linear' skips.
 */
export function isTarget(name: string, cfg: Pick<LoraConfig, 'targetModules' | 'excludeModules' | 'layersToTransform' | 'layersPattern'>, isOutputLayer = false): boolean {
  const targets = cfg.targetModules ?? GEMMA_DEFAULT_TARGETS;
  let hit: boolean;
  if (targets === 'all-linear') hit = !isOutputLayer;
  else hit = matchesTarget(name, targets);
  if (!hit) return false;
  if (cfg.excludeModules && matchesTarget(name, cfg.excludeModules)) return false;
  if (cfg.layersToTransform !== null && cfg.layersToTransform !== undefined) {
    const idx = layerIndex(name, cfg.layersPattern);
    const allowed = Array.isArray(cfg.layersToTransform) ? cfg.layersToTransform : [cfg.layersToTransform];
    if (idx === null || !allowed.includes(idx)) return false;
  }
  return true;
}

/** r and lora_alpha for a module, after rank_pattern / alpha_pattern. */
export function rankAndAlpha(name: string, cfg: Pick<LoraConfig, 'r' | 'loraAlpha' | 'rankPattern' | 'alphaPattern'>): { r: number; alpha: number } {
  const find = (pat: Record<string, number>): number | undefined => {
    for (const [k, v] of Object.entries(pat)) if (new RegExp(`(?:^|.*\\.)(?:${k})$`).test(name)) return v;
    return undefined;
  };
  return { r: find(cfg.rankPattern) ?? cfg.r, alpha: find(cfg.alphaPattern) ?? cfg.loraAlpha };
}
