/**
 * LoRA's hyperparameters, checked in one place for `LoraLinear` and for `LoraConfig` (and so adapter_config.json):
 * the same bad value gets the same PeftConfigError, with the same message, wherever it enters. Fields carry PEFT's
 * names (`r`, `lora_alpha`, `lora_dropout`, `init_lora_weights`). The class lives here because layers/ sits below
 * peft/; `loralab/peft` re-exports it.
 */
import { LoraLabError } from '../util/errors.js';

/** A LoRA configuration value PEFT would refuse (or one LoRA Lab does not support). */
export class PeftConfigError extends LoraLabError {
  override name = 'PeftConfigError';
}

const shown = (v: unknown): string => (v === undefined ? 'undefined' : JSON.stringify(v));

/** r: the rank of ΔW = B A. `field` names it when it is not plain `r` (an entry of rank_pattern). */
export function checkLoraRank(r: unknown, file?: string, field = 'r'): asserts r is number {
  if (!Number.isInteger(r) || (r as number) <= 0) throw new PeftConfigError(`${shown(r)} is not a valid LoRA rank`, { file, field, expected: 'a positive integer' });
}

export function checkLoraAlpha(alpha: unknown, file?: string): asserts alpha is number {
  if (typeof alpha !== 'number' || !Number.isFinite(alpha)) throw new PeftConfigError(`${shown(alpha)} is not a number`, { file, field: 'lora_alpha', expected: 'a finite number' });
}

/** The dropout probability on the adapter's input: 1 would drop everything. */
export function checkLoraDropout(p: unknown, file?: string): asserts p is number {
  if (!(typeof p === 'number' && p >= 0 && p < 1)) throw new PeftConfigError(`${shown(p)} is not a dropout probability`, { file, field: 'lora_dropout', expected: 'a number in [0, 1)' });
}

export function checkInitLoraWeights(init: unknown, file?: string): void {
  if (![true, false, 'gaussian', 'pissa'].includes(init as never)) throw new PeftConfigError(`${shown(init)} is not an initialisation LoRA Lab knows`, { file, field: 'init_lora_weights', expected: 'true, false, "gaussian" or "pissa"' });
}
