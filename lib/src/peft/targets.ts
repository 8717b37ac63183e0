/**
 * Which modules get an adapter, with PEFT's rules (`check_target_module_exists`):
 * - target_modules as a string: a regex that must match the whole module name (re.fullmatch);
 * - as a list: a name matches if it equals an entry or ends with "." + entry;
 * - 'all-linear': every linear layer except the output head;
 * - layers_to_transform: keep only modules whose layer index (the number after `layers_pattern`, default any of
 *   layers|h|blocks|block|layer) is listed;
 * - rank_pattern / alpha_pattern: the first key matching `(.*\.)?key$` overrides r / lora_alpha;
 * - no target_modules: DEFAULT_TARGET_MODULES (PEFT's default for Gemma).
 * A target that matches no linear layer is refused (checkTargetModules).
 */
import type { LoraConfig } from './config.js';
import { DEFAULT_TARGET_MODULES, PeftConfigError } from './config.js';

/** target_modules naming something the model does not have. */
export class TargetModulesError extends PeftConfigError {
  override name = 'TargetModulesError';
}

function fullMatch(pattern: string, s: string): boolean {
  try {
    return new RegExp(`^(?:${pattern})$`).test(s);
  } catch {
    throw new PeftConfigError(`target pattern '${pattern}' is not a valid regular expression`);
  }
}

export function matchesTarget(name: string, targets: readonly string[] | string): boolean {
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
  const targets = cfg.targetModules ?? DEFAULT_TARGET_MODULES;
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

/** Distinct last path components, in order of first appearance: model.layers.0.self_attn.q_proj -> q_proj. */
export function moduleLeafNames(paths: Iterable<string>): string[] {
  return [...new Set([...paths].map((p) => p.slice(p.lastIndexOf('.') + 1)))];
}

/**
 * Refuse target modules that match no linear layer of the model, naming the layers it has. PEFT raises "Target
 * modules {...} not found in the base model. Please check the target modules and try again." when nothing matches;
 * here every listed name must match something, so a typo next to a good name ('q_proj,gate') is caught too.
 * `linearPaths` are the full module paths of the model's linear layers (the output head included or not).
 */
export function checkTargetModules(linearPaths: readonly string[], targets: readonly string[] | string | null | undefined): void {
  const t = targets ?? DEFAULT_TARGET_MODULES;
  if (t === 'all-linear') return;
  const missing = typeof t === 'string' ? (linearPaths.some((p) => fullMatch(t, p)) ? [] : [t]) : t.filter((x) => !linearPaths.some((p) => matchesTarget(p, [x])));
  if (!missing.length) return;
  const leaves = moduleLeafNames(linearPaths);
  const guesses = missing.flatMap((m) => leaves.filter((l) => l !== m && (l.startsWith(m) || m.startsWith(l))));
  const what = typeof t === 'string' ? `target modules pattern '${t}' matches no module` : `target module${missing.length > 1 ? 's' : ''} ${missing.map((m) => `'${m}'`).join(', ')} not found`;
  throw new TargetModulesError(
    `${what} in the base model${guesses.length ? ` (did you mean ${guesses.join(' or ')}?)` : ''}; its linear layers are ${leaves.join(', ') || 'none'}. Please check the target modules and try again.`,
  );
}

/** The leaf names of the layers a config targets (what 'all-linear', a regex or the default stands for). */
export function targetedLeafNames(linearPaths: readonly string[], cfg: Pick<LoraConfig, 'targetModules' | 'excludeModules' | 'layersToTransform' | 'layersPattern'>, outputLayer?: string): string[] {
  return moduleLeafNames(linearPaths.filter((p) => isTarget(p, cfg, p === outputLayer)));
}
