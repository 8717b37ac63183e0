/** Option values every command reads the same way, refused with the same words: numbers, choices, model shapes. */
import { existsSync } from 'node:fs';
import { readGemmaConfig, type GemmaConfig } from '../models/gemma/index.js';
import { NAMED_SHAPES, namedConfig } from '../peft/index.js';
import { UsageError } from './errors.js';

/** A number from an option, with bounds: "--r must be an integer >= 1 (got 'abc')". */
export function num(flag: string, v: string, opts: { int?: boolean; min?: number; max?: number } = {}): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || (opts.int && !Number.isInteger(n)) || (opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max)) {
    const what = opts.int ? 'an integer' : 'a number';
    throw new UsageError(`${flag} must be ${what}${opts.min !== undefined ? ` >= ${opts.min}` : ''}${opts.max !== undefined ? ` <= ${opts.max}` : ''} (got '${v}')`);
  }
  return n;
}

/** One of a fixed set: "--method must be one of full, lora, qlora (got 'ia3')". */
export function choice<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')} (got '${value}')`);
  return value as T;
}

export const MODEL_SHAPES_HELP = `a model folder, or one of ${Object.keys(NAMED_SHAPES).join(', ')}`;

/** --model for the analytic commands: a named shape (gemma-2b, llama-7b, ...) or a folder with config.json. */
export function modelShapes(v: string): GemmaConfig {
  const cfg = namedConfig(v) ?? (existsSync(v) ? readGemmaConfig(v) : null);
  if (!cfg) throw new UsageError(`--model ${v}: neither a model folder nor one of ${Object.keys(NAMED_SHAPES).join(', ')}`);
  return cfg;
}
