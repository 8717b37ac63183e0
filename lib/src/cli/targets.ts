/**
 * --target-modules, the same for params, memory and train: one option definition, one default (the library's
 * DEFAULT_TARGET_MODULES, PEFT's default for Gemma), names checked against the model's linear layers before any work,
 * and one line that says what was used.
 */
import { Option } from 'commander';
import type { GemmaConfig } from '../models/gemma/index.js';
import { checkTargetModules, DEFAULT_TARGET_MODULES, DEFAULT_TARGET_MODULES_SOURCE, linearShapes, PeftConfigError, targetedLeafNames } from '../peft/index.js';
import { UsageError } from './errors.js';

export function targetModulesOption(): Option {
  return new Option(
    '--target-modules <list>',
    `comma-separated module names (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj), 'all-linear', or a regular expression matching whole module paths as PEFT's string form does (default: ${DEFAULT_TARGET_MODULES.join(',')}, ${DEFAULT_TARGET_MODULES_SOURCE})`,
  );
}

/** Characters no module name has: a value with one is PEFT's string form, a regex (model.layers.0.self_attn.q_proj has dots only). */
const REGEX_CHARS = /[*+?()[\]{}|^$\\]/;

export interface ChosenTargets {
  /** names, 'all-linear', or a regex string */
  targets: string[] | string;
  /** "target modules: q_proj, v_proj (PEFT's default for Gemma)" */
  line: string;
}

/** The targets for `cfg` from the option's value (undefined: the default), refused as a bad call if a name is not a layer. */
export function chooseTargets(cfg: GemmaConfig, value: string | undefined): ChosenTargets {
  let targets: string[] | string;
  if (value === undefined) targets = [...DEFAULT_TARGET_MODULES];
  else if (value.trim() === 'all-linear') targets = 'all-linear';
  else if (REGEX_CHARS.test(value)) targets = value.trim();
  else {
    targets = value.split(',').map((s) => s.trim()).filter(Boolean);
    if (!targets.length) throw new UsageError(`--target-modules must be comma-separated module names or 'all-linear' (got '${value}')`);
  }
  const paths = [...linearShapes(cfg).keys()];
  try {
    checkTargetModules(paths, targets);
  } catch (e) {
    // a name that is not a layer, or a pattern that is not a regex
    if (e instanceof PeftConfigError) throw new UsageError(`--target-modules ${value}: ${e.message}`);
    throw e;
  }
  const named = targetedLeafNames(paths, { targetModules: targets, excludeModules: null, layersToTransform: null, layersPattern: null }).join(', ');
  const line =
    value === undefined ? `target modules: ${named} (${DEFAULT_TARGET_MODULES_SOURCE})`
    : targets === 'all-linear' ? `target modules: all-linear = ${named}`
    : typeof targets === 'string' ? `target modules: regex '${targets}' = ${named}`
    : `target modules: ${named}`;
  return { targets, line };
}
