/**
 * Training data: JSONL records, a prompt template, tokenization with the prompt masked (the model learns the answer
 * only), batching with padding or packing, and a seeded shuffle whose state can be saved and restored.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { TextTokenizer } from '../io/tokenizer.js';
import { Rng } from '../util/rng.js';
import { IGNORE_INDEX } from './loss.js';
import { DataError } from './errors.js';

export { DataError };

/** Read JSONL, checking that every line is a JSON object with the required string fields. */
export function readJsonl<K extends string>(path: string, fields: readonly K[]): Record<K, string>[] {
  if (!existsSync(path)) throw new DataError('no such file', { file: path });
  if (!statSync(path).isFile()) throw new DataError('not a file (expected a JSONL file, one JSON object per line)', { file: path });
  const out: Record<K, string>[] = [];
  // A UTF-8 byte order mark (editors on Windows write one) is not part of the first record.
  const lines = readFileSync(path, 'utf8').replace(/^\uFEFF/, '').split('\n');
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new DataError(`${path}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new DataError(`${path}:${i + 1}: expected a JSON object`);
    for (const f of fields) {
      if (typeof (v as Record<string, unknown>)[f] !== 'string') throw new DataError(`${path}:${i + 1}: field '${f}' must be a string, got ${JSON.stringify((v as Record<string, unknown>)[f])}`);
    }
    out.push(v as Record<K, string>);
  });
  if (!out.length) throw new DataError('no records', { file: path });
  return out;
}

/** The text-to-SQL prompt: the model sees the question and learns to continue with the SQL and <eos>. */
export interface PromptTemplate {
  prompt(record: Record<string, string>): string;
  answer(record: Record<string, string>): string;
}

export const SQL_TEMPLATE: PromptTemplate = {
  prompt: (r) => `Question: ${r.question}\nSQL:`,
  answer: (r) => ` ${r.sql}`,
};

/** Plain text (pre-training): everything is learned. */
export const TEXT_TEMPLATE: PromptTemplate = {
  prompt: () => '',
  answer: (r) => r.text,
};

export interface Example {
  inputIds: number[];
  /** Same length as inputIds; IGNORE_INDEX where no loss is taken. */
  labels: number[];
}

/** <bos> prompt answer <eos>, labels masked over <bos> and the prompt; truncated to maxLength. */
export function buildExample(tok: TextTokenizer, tpl: PromptTemplate, record: Record<string, string>, opts: { maxLength: number; eosId: number }): Example {
  const p = tok.encode(tpl.prompt(record), { addSpecialTokens: true }); // [<bos>, ...prompt]
  const a = tok.encode(tpl.answer(record), { addSpecialTokens: false });
  const inputIds = [...p, ...a, opts.eosId].slice(0, opts.maxLength);
  const labels = inputIds.map((id, i) => (i < p.length ? IGNORE_INDEX : id));
  return { inputIds, labels };
}

export interface Batch {
  inputIds: number[][];
  labels: number[][];
  attentionMask: number[][];
  /** Tokens that carry a loss. */
  targetTokens: number;
}

/** Right-pad examples to the longest one (pad label IGNORE_INDEX, attention 0). */
export function padBatch(examples: Example[], padId: number): Batch {
  const T = Math.max(...examples.map((e) => e.inputIds.length));
  const pad = <X>(xs: X[], v: X) => [...xs, ...Array<X>(T - xs.length).fill(v)];
  const labels = examples.map((e) => pad(e.labels, IGNORE_INDEX));
  return {
    inputIds: examples.map((e) => pad(e.inputIds, padId)),
    labels,
    attentionMask: examples.map((e) => pad(e.inputIds.map(() => 1), 0)),
    targetTokens: labels.reduce((s, l) => s + l.slice(1).filter((y) => y !== IGNORE_INDEX).length, 0),
  };
}

/** Concatenate examples into rows of exactly `length` tokens (pre-training); labels follow the inputs. */
export function packExamples(examples: Example[], length: number): Example[] {
  const ids: number[] = [];
  const labels: number[] = [];
  for (const e of examples) {
    ids.push(...e.inputIds);
    labels.push(...e.labels);
  }
  const rows: Example[] = [];
  for (let s = 0; s + length <= ids.length; s += length) rows.push({ inputIds: ids.slice(s, s + length), labels: labels.slice(s, s + length) });
  return rows;
}

/** Epoch-based shuffled batches from a seeded generator; the position can be saved and restored. */
export class BatchSampler {
  private order: number[] = [];
  private pos = 0;
  epoch = 0;
  private rng: Rng;
  constructor(private readonly n: number, private readonly batchSize: number, private readonly seed: number) {
    this.rng = new Rng(seed);
    this.reshuffle();
  }
  private reshuffle(): void {
    this.rng = new Rng(this.seed * 1000003 + this.epoch);
    this.order = Array.from({ length: this.n }, (_, i) => i);
    for (let i = this.n - 1; i > 0; i--) {
      const j = Math.floor(this.rng.next() * (i + 1));
      [this.order[i], this.order[j]] = [this.order[j], this.order[i]];
    }
    this.pos = 0;
  }
  next(): number[] {
    const out: number[] = [];
    while (out.length < this.batchSize) {
      if (this.pos >= this.n) {
        this.epoch++;
        this.reshuffle();
      }
      out.push(this.order[this.pos++]);
    }
    return out;
  }
  state(): { epoch: number; pos: number } {
    return { epoch: this.epoch, pos: this.pos };
  }
  restore(s: { epoch: number; pos: number }): void {
    this.epoch = s.epoch;
    this.reshuffle();
    this.pos = s.pos;
  }
}
