/** Option values every command reads the same way, refused with the same words: numbers, choices, model shapes. */
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { readGemmaConfig, type GemmaConfig } from '../models/gemma/index.js';
import { NAMED_SHAPES, namedConfig } from '../peft/index.js';
import { UsageError } from './errors.js';

/**
 * A number from an option, with bounds: "--r must be an integer >= 1 (got 'abc')". `above` is an exclusive lower
 * bound ("--lr must be a number > 0").
 */
export function num(flag: string, v: string, opts: { int?: boolean; min?: number; above?: number; max?: number } = {}): number {
  const n = Number(v);
  const bad = v.trim() === '' || !Number.isFinite(n) || (opts.int && !Number.isInteger(n)) || (opts.min !== undefined && n < opts.min) || (opts.above !== undefined && n <= opts.above) || (opts.max !== undefined && n > opts.max);
  if (bad) {
    const what = opts.int ? 'an integer' : 'a number';
    const bounds = [opts.min !== undefined ? `>= ${opts.min}` : '', opts.above !== undefined ? `> ${opts.above}` : '', opts.max !== undefined ? `<= ${opts.max}` : ''].filter(Boolean).join(' and ');
    throw new UsageError(`${flag} must be ${what}${bounds ? ` ${bounds}` : ''} (got '${v}')`);
  }
  return n;
}

/** A file an option names that the command will write: its folder must exist, checked before any work is done. */
export function outputFile(flag: string, path: string): string {
  const dir = dirname(resolve(path));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`${flag} ${path}: the folder ${dir} does not exist`);
  if (existsSync(path) && statSync(path).isDirectory()) throw new UsageError(`${flag} ${path}: is a folder (expected a file to write)`);
  return path;
}

/** A folder an option names that the command will create or continue: it must not be a file. */
export function outputDir(flag: string, path: string): string {
  if (existsSync(path) && !statSync(path).isDirectory()) throw new UsageError(`${flag} ${path}: is a file (expected a folder to write into)`);
  return path;
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
