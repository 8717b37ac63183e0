/**
 * A QLoRA fine-tuning run that a page can stop and resume: the session holds the LoRA weights and AdamW's moments on
 * the device and counts the steps (DeviceTrainStep), the run holds the data position (the Trainer's seeded
 * BatchSampler over the records) and tokenizes each record the first time a batch draws it. `train` checks for a
 * stop request between steps and yields to the event loop after each one (a macrotask, so that a worker's
 * messages and a page's clicks get through), so a stopped run resumes exactly where it stopped: the same next
 * batch, the same optimizer state, the same step count and learning-rate schedule.
 */
import { BatchSampler, buildExample, padBatch, SQL_TEMPLATE, type Example, type PromptTemplate } from '../train/data.js';
import type { QloraSession } from './session.js';
import { WebGpuError } from './errors.js';

export interface RunSettings {
  /** Steps the run makes in all (the schedule's totalSteps is the session's). */
  steps: number;
  batchSize: number;
  /** Tokens per example, prompt included (longer ones are cut, as the CLI cuts them). */
  maxLength: number;
  /** Seeds the data order. */
  seed: number;
  template?: PromptTemplate;
}

export interface RunProgress {
  step: number;
  steps: number;
  loss: number;
  gradNorm: number;
  lr: number;
  /** Tokens in the batch, padding included (as the Trainer counts them), and the step's time. */
  tokens: number;
  seconds: number;
  tokensPerSecond: number;
}

export type RunEnd = 'done' | 'stopped';

const nextTask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

export class TrainingRun {
  private readonly sampler: BatchSampler;
  private readonly examples = new Map<number, Example>();
  private stopRequested = false;
  private active = false;

  constructor(readonly session: QloraSession, readonly records: Record<string, string>[], readonly settings: RunSettings) {
    for (const k of ['steps', 'batchSize', 'maxLength'] as const) {
      if (!Number.isInteger(settings[k]) || settings[k] < 1) throw new WebGpuError(`${k} must be a whole number above 0 (got ${settings[k]})`, { file: 'TrainingRun' });
    }
    if (records.length === 0) throw new WebGpuError('no training records', { file: 'TrainingRun' });
    this.sampler = new BatchSampler(records.length, settings.batchSize, settings.seed);
  }

  /** Optimizer steps done so far. */
  get step(): number {
    return this.session.trainer.step;
  }
  get done(): boolean {
    return this.step >= this.settings.steps;
  }
  get running(): boolean {
    return this.active;
  }
  /** Where the data order stands (epoch, position in its shuffle). */
  position(): { epoch: number; pos: number } {
    return this.sampler.state();
  }

  private example(i: number): Example {
    let e = this.examples.get(i);
    if (!e) {
      const cfg = this.session.loaded.config;
      e = buildExample(this.session.tokenizer, this.settings.template ?? SQL_TEMPLATE, this.records[i], { maxLength: this.settings.maxLength, eosId: cfg.eosTokenId });
      this.examples.set(i, e);
    }
    return e;
  }

  /** Ask a running `train` to return after the step it is in. */
  stop(): void {
    if (this.active) this.stopRequested = true;
  }

  /** Train until `settings.steps` are done or `stop()` is called; `onStep` sees every step. */
  async train(onStep: (p: RunProgress) => void = () => {}): Promise<RunEnd> {
    if (this.active) throw new WebGpuError('already training', { file: 'TrainingRun' });
    this.active = true;
    this.stopRequested = false;
    try {
      while (!this.done) {
        if (this.stopRequested) return 'stopped';
        const batch = padBatch(this.sampler.next().map((i) => this.example(i)), this.session.loaded.config.padTokenId);
        const r = await this.session.step(batch);
        onStep({ step: r.step, steps: this.settings.steps, loss: r.loss, gradNorm: r.gradNorm, lr: r.lr, tokens: r.tokens, seconds: r.seconds, tokensPerSecond: r.tokens / r.seconds });
        await nextTask();
      }
      return 'done';
    } finally {
      this.active = false;
      this.stopRequested = false;
    }
  }
}
