/**
 * One training loop for every method (full fine-tuning, LoRA, QLoRA, bottleneck adapters, prefix tuning): the method
 * decides which variables train and how they are saved; the loop does the rest.
 *
 *   per step: for k in 1..gradAccum: loss_k, ∇ = value-and-grad on a batch;  g = Σ∇ / gradAccum
 *             clip g to maxGradNorm;  lr from warmup + schedule;  AdamW step
 *   every evalEvery steps: mean loss on the eval set;  every saveEvery steps: an atomic checkpoint
 *
 * A NaN or Inf loss stops the run with TrainingDivergedError before the optimizer step, so the last checkpoint is the
 * last good state. Metrics are records (step, loss, lr, grad norm, tokens/s, memory) appended to metrics.jsonl.
 */
import * as tf from '@tensorflow/tfjs';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SafetensorsReader, writeSafetensors } from '../io/index.js';
import { floatTensor, toFloat32 } from '../io/floats.js';
import type { GemmaForCausalLM } from '../models/gemma/model.js';
import { addInto } from '../layers/module.js';
import { BatchSampler, DataError, padBatch, type Example } from './data.js';
import { headLoss } from './loss.js';
import { AdamW, clipScale, globalGradNorm, learningRate, type Schedule } from './optim.js';
import { commitCheckpoint, latestCheckpoint, pruneCheckpoints, writeFileAtomic } from './checkpoint.js';
import { ArgumentError } from '../util/errors.js';
import { CheckpointStateError, TrainingDivergedError } from './errors.js';

export interface TrainOptions {
  steps: number;
  lr: number;
  batchSize: number;
  gradAccum?: number;
  warmupSteps?: number;
  schedule?: Schedule;
  weightDecay?: number;
  maxGradNorm?: number;
  beta2?: number;
  seed?: number;
  evalEvery?: number;
  /** Examples used for each evaluation (default: all). */
  evalLimit?: number;
  saveEvery?: number;
  keepCheckpoints?: number;
  outDir: string;
  resume?: boolean;
}

export interface MetricRecord {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokensPerSecond: number;
  /** Resident memory of the process, bytes. */
  rss: number;
  elapsedSeconds: number;
  evalLoss?: number;
}

/** What a method contributes: its trainable variables by name and how to save/restore them. */
export interface TrainableSet {
  params: Map<string, tf.Variable>;
  save(dir: string): void;
  load(dir: string): void;
}

export { CheckpointStateError, TrainingDivergedError };

/** What a checkpoint records about the loop besides the weights and the optimizer moments. */
export interface TrainerState {
  step: number;
  optimizerStep: number;
  sampler: { epoch: number; pos: number };
  records: number;
}

/**
 * Reads and checks a trainer_state.json before anything is restored from its checkpoint: every field a non-negative
 * integer, and a step no later than the run's last (a later one would "resume" into a run that trains nothing).
 */
export function readTrainerState(path: string, totalSteps: number): TrainerState {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CheckpointStateError(`not valid JSON (${(e as Error).message}); delete the checkpoint or start without --resume`, { file: path });
  }
  const count = (v: unknown, field: string): number => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new CheckpointStateError(`'${field}' must be a non-negative integer (got ${JSON.stringify(v)})`, { file: path });
    return v;
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new CheckpointStateError('expected a JSON object with step, optimizerStep, sampler and records', { file: path });
  const o = raw as Record<string, unknown>;
  const sampler = o.sampler;
  if (typeof sampler !== 'object' || sampler === null || Array.isArray(sampler)) throw new CheckpointStateError(`'sampler' must be an object { epoch, pos } (got ${JSON.stringify(sampler)})`, { file: path });
  const sp = sampler as Record<string, unknown>;
  const state: TrainerState = {
    step: count(o.step, 'step'),
    optimizerStep: count(o.optimizerStep, 'optimizerStep'),
    sampler: { epoch: count(sp.epoch, 'sampler.epoch'), pos: count(sp.pos, 'sampler.pos') },
    records: count(o.records, 'records'),
  };
  if (state.step > totalSteps) throw new CheckpointStateError(`'step' is ${state.step}, beyond this run's ${totalSteps} steps; resume with --steps ${state.step} or more`, { file: path });
  return state;
}

/** Save/restore named variables as one safetensors file (for full fine-tuning, adapters and prefixes). */
export function variablesTrainableSet(params: Map<string, tf.Variable>, file = 'trainable.safetensors'): TrainableSet {
  return {
    params,
    save(dir) {
      writeSafetensors(join(dir, file), Object.fromEntries([...params].map(([k, v]) => [k, floatTensor(v.dataSync() as Float32Array, [...v.shape])])), { format: 'pt' });
    },
    load(dir) {
      const r = SafetensorsReader.open(join(dir, file));
      try {
        for (const [k, v] of params) {
          if (!r.has(k)) throw new CheckpointStateError('missing', { file: join(dir, file), field: k, expected: 'every trainable parameter of this run' });
          const t = tf.tensor(toFloat32(r.read(k)), v.shape);
          v.assign(t);
          t.dispose();
        }
      } finally {
        r.close();
      }
    },
  };
}

export interface TrainerEvents {
  onStep?(m: MetricRecord): void;
  onEval?(m: { step: number; evalLoss: number }): void;
  onCheckpoint?(dir: string): void;
  onResume?(step: number): void;
}

export class Trainer {
  readonly optimizer: AdamW;
  readonly sampler: BatchSampler;
  step = 0;
  readonly records: MetricRecord[] = [];
  private readonly o: Required<Omit<TrainOptions, 'evalLimit'>> & { evalLimit?: number };

  constructor(
    readonly model: GemmaForCausalLM,
    readonly trainable: TrainableSet,
    readonly train: Example[],
    readonly evalSet: Example[] | null,
    opts: TrainOptions,
    readonly padId: number,
  ) {
    if (!train.length) throw new DataError('no training examples', { file: 'Trainer', field: 'train', expected: 'one or more examples' });
    if (!(opts.steps > 0)) throw new ArgumentError(`got ${opts.steps}`, { file: 'Trainer', field: 'steps', expected: 'a positive number of steps' });
    this.o = {
      gradAccum: 1, warmupSteps: 0, schedule: 'constant', weightDecay: 0, maxGradNorm: 1, beta2: 0.999, seed: 0, evalEvery: 0,
      saveEvery: 0, keepCheckpoints: 2, resume: false, ...opts,
    };
    this.optimizer = new AdamW(trainable.params, { weightDecay: this.o.weightDecay, beta2: this.o.beta2 });
    this.sampler = new BatchSampler(train.length, this.o.batchSize, this.o.seed);
  }

  /**
   * The loss of a batch. With a frozen tied head (every method but full fine-tuning) the head and the loss are fused
   * so that the [tokens, vocabulary] logits never exist; otherwise logits, then the loss.
   */
  loss(batch: { inputIds: number[][]; labels: number[][]; attentionMask: number[][] }): tf.Scalar {
    return tf.tidy(() => this.lossOfHidden(batch.labels)(this.model.model.forward(batch.inputIds, { attentionMask: batch.attentionMask })));
  }

  /** The loss as a function of the final hidden states (head + loss). */
  lossOfHidden(labels: number[][]): (h: tf.Tensor3D) => tf.Scalar {
    return headLoss(this.model, labels);
  }

  /** Loss and gradients of one batch (layer-by-layer when the model uses gradient checkpointing). */
  valueAndGrads(batch: { inputIds: number[][]; labels: number[][]; attentionMask: number[][] }, vars: tf.Variable[]): { value: number; grads: Map<tf.Variable, tf.Tensor> } {
    return this.model.valueAndGrads(batch.inputIds, { attentionMask: batch.attentionMask }, this.lossOfHidden(batch.labels), vars);
  }

  /** Mean loss over (a prefix of) the eval set, no gradients. */
  evaluate(): number {
    if (!this.evalSet?.length) return NaN;
    const set = this.evalSet.slice(0, this.o.evalLimit ?? this.evalSet.length);
    const wasTraining = this.model.training;
    this.model.eval();
    let sum = 0;
    let tokens = 0;
    for (let i = 0; i < set.length; i += this.o.batchSize) {
      const b = padBatch(set.slice(i, i + this.o.batchSize), this.padId);
      const l = tf.tidy(() => this.loss(b).dataSync()[0]);
      sum += l * b.targetTokens;
      tokens += b.targetTokens;
    }
    this.model.train(wasTraining);
    return sum / tokens;
  }

  private saveCheckpoint(): string {
    const name = `checkpoint-${String(this.step).padStart(6, '0')}`;
    const dir = commitCheckpoint(this.o.outDir, name, (tmp) => {
      this.trainable.save(tmp);
      const st = this.optimizer.state();
      const t: Record<string, ReturnType<typeof floatTensor>> = {};
      for (const [k, v] of st.m) t[`m.${k}`] = floatTensor(v, [v.length]);
      for (const [k, v] of st.v) t[`v.${k}`] = floatTensor(v, [v.length]);
      writeSafetensors(join(tmp, 'optimizer.safetensors'), t, { format: 'pt' });
      writeFileSync(join(tmp, 'trainer_state.json'), JSON.stringify({ step: this.step, optimizerStep: st.step, sampler: this.sampler.state(), records: this.records.length }, null, 2));
    });
    pruneCheckpoints(this.o.outDir, this.o.keepCheckpoints);
    return dir;
  }

  /**
   * Restore the latest checkpoint of outDir; returns the step it resumes from (0 if none). With no checkpoint the run
   * starts over, and so does its metrics file (a run killed before its first checkpoint left records no state covers).
   */
  resume(): number {
    const mf = join(this.o.outDir, 'metrics.jsonl');
    const dir = latestCheckpoint(this.o.outDir);
    if (!dir) {
      if (existsSync(mf)) writeFileSync(mf, '');
      return 0;
    }
    const statePath = join(dir, 'trainer_state.json');
    const state = readTrainerState(statePath, this.o.steps);
    if (state.sampler.pos > this.train.length) throw new CheckpointStateError(`'sampler.pos' is ${state.sampler.pos}, beyond the ${this.train.length} training examples of this run (was the checkpoint made with other data?)`, { file: statePath });
    this.trainable.load(dir);
    const r = SafetensorsReader.open(join(dir, 'optimizer.safetensors'));
    const m = new Map<string, Float32Array>();
    const v = new Map<string, Float32Array>();
    try {
      for (const n of r.names()) (n.startsWith('m.') ? m : v).set(n.slice(2), toFloat32(r.read(n)));
    } finally {
      r.close();
    }
    this.optimizer.loadState({ step: state.optimizerStep, m, v });
    this.sampler.restore(state.sampler);
    this.step = state.step;
    // the metrics file continues where the checkpoint was taken
    if (existsSync(mf)) {
      const kept = readFileSync(mf, 'utf8').split('\n').filter(Boolean).slice(0, state.records);
      this.records.push(...kept.map((l) => JSON.parse(l) as MetricRecord));
      writeFileAtomic(mf, kept.map((l) => `${l}\n`).join(''));
    }
    return this.step;
  }

  /** Run until `steps` optimizer steps are done. */
  run(events: TrainerEvents = {}): MetricRecord[] {
    const mf = this.startRun(events);
    const vars = [...this.trainable.params.values()];
    const nameOf = new Map([...this.trainable.params].map(([k, v]) => [v.name, k]));
    const t0 = performance.now();
    const elapsedBefore = this.records.at(-1)?.elapsedSeconds ?? 0;
    this.model.train();
    while (this.step < this.o.steps) {
      const stepStart = performance.now();
      for (const [, m] of this.model.namedModules()) m.beforeStep(this.step);
      const { grads, loss, tokens } = this.accumulateGrads(vars, nameOf);
      const { norm, lr } = this.update(grads);
      this.step++;
      const rec: MetricRecord = {
        step: this.step,
        loss,
        lr,
        gradNorm: norm,
        tokensPerSecond: tokens / ((performance.now() - stepStart) / 1000),
        rss: process.memoryUsage().rss,
        elapsedSeconds: elapsedBefore + (performance.now() - t0) / 1000,
      };
      this.finishStep(rec, mf, events);
    }
    this.model.eval();
    return this.records;
  }

  /** Creates --out, then resumes from its last checkpoint or starts metrics.jsonl afresh; returns that file's path. */
  private startRun(events: TrainerEvents): string {
    mkdirSync(this.o.outDir, { recursive: true });
    const mf = join(this.o.outDir, 'metrics.jsonl');
    if (this.o.resume) {
      const s = this.resume();
      if (s > 0) events.onResume?.(s);
    } else if (existsSync(mf)) writeFileSync(mf, '');
    return mf;
  }

  /**
   * The mean gradient over `gradAccum` micro-batches, keyed by parameter name, with their mean loss and token count.
   * A non-finite loss stops the run before any weight changes.
   */
  private accumulateGrads(vars: tf.Variable[], nameOf: Map<string, string>): { grads: Map<string, tf.Tensor>; loss: number; tokens: number } {
    const o = this.o;
    const sums = new Map<string, tf.Tensor>();
    let lossSum = 0;
    let tokens = 0;
    for (let k = 0; k < o.gradAccum; k++) {
      const batch = padBatch(this.sampler.next().map((i) => this.train[i]), this.padId);
      const { value: loss, grads } = this.valueAndGrads(batch, vars);
      if (!Number.isFinite(loss)) {
        for (const g of grads.values()) g.dispose();
        for (const g of sums.values()) g.dispose();
        const last = latestCheckpoint(o.outDir);
        throw new TrainingDivergedError(`loss is ${loss} at step ${this.step + 1} (micro-batch ${k + 1}); stopped before updating the weights. ${last ? `Last good checkpoint: ${last}` : 'No checkpoint was written yet.'} Lower --lr or check the data.`);
      }
      lossSum += loss;
      tokens += batch.inputIds.length * batch.inputIds[0].length;
      for (const [variable, g] of grads) addInto(sums, nameOf.get(variable.name)!, g);
    }
    if (o.gradAccum > 1) for (const [k, g] of sums) {
      sums.set(k, g.div(o.gradAccum));
      g.dispose();
    }
    return { grads: sums, loss: lossSum / o.gradAccum, tokens };
  }

  /** Clips the gradients to maxGradNorm and takes one AdamW step at this step's learning rate; frees the gradients. */
  private update(grads: Map<string, tf.Tensor>): { norm: number; lr: number } {
    const o = this.o;
    // the clip's scale goes into the update (one pass over each gradient, no scaled copies)
    const norm = globalGradNorm(grads);
    const lr = learningRate(this.step, { lr: o.lr, warmupSteps: o.warmupSteps, totalSteps: o.steps, schedule: o.schedule });
    this.optimizer.step(grads, lr, undefined, clipScale(norm, o.maxGradNorm));
    for (const g of grads.values()) g.dispose();
    return { norm, lr };
  }

  /** Evaluates when due, records and logs the step, and checkpoints when due (always after the last step). */
  private finishStep(rec: MetricRecord, mf: string, events: TrainerEvents): void {
    const o = this.o;
    if (o.evalEvery > 0 && (this.step % o.evalEvery === 0 || this.step === o.steps) && this.evalSet?.length) {
      rec.evalLoss = this.evaluate();
      events.onEval?.({ step: this.step, evalLoss: rec.evalLoss });
    }
    this.records.push(rec);
    appendFileSync(mf, `${JSON.stringify(rec)}\n`);
    events.onStep?.(rec);
    if ((o.saveEvery > 0 && this.step % o.saveEvery === 0) || this.step === o.steps) {
      const dir = this.saveCheckpoint();
      events.onCheckpoint?.(dir);
    }
  }
}
