/**
 * One training step that stays on the device: forward, backward, gradient clipping and AdamW run as TF.js ops on the
 * active backend, and the only value that comes back to the CPU is [loss, grad norm], read once, asynchronously, at
 * the end. It is the Trainer's step (trainer.ts) without its synchronous reads, so that on the webgpu backend the
 * GPU is never stalled mid-step and a browser tab never blocks on a download:
 *
 *   L, ∇ = value-and-grad(batch)               (4-bit weights dequantized on the GPU from their resident copy)
 *   s = maxNorm / (‖∇‖ + 1e-6) if ‖∇‖ > maxNorm else 1;   g = s·∇
 *   ok = isFinite(L) ∧ isFinite(‖∇‖);   AdamW(g) applied where ok   (a diverged step changes nothing)
 *   read [L, ‖∇‖]
 *
 * On the CPU backends it computes the same step as the Trainer, up to float32 rounding in the clip scale (float32
 * here, float64 there). Nothing here is specific to WebGPU, so the same code runs in a browser and in Node.
 */
import * as tf from '@tensorflow/tfjs';
import type { GemmaForCausalLM } from '../models/gemma/model.js';
import type { Batch } from './data.js';
import { headLoss } from './loss.js';
import { AdamW, clipGradNormOnDevice, learningRate, type Schedule } from './optim.js';
import { TrainingDivergedError } from './trainer.js';
import { ArgumentError } from '../util/errors.js';

export interface DeviceStepOptions {
  lr: number;
  /** For the schedule (default: constant, so any value works). */
  totalSteps?: number;
  warmupSteps?: number;
  schedule?: Schedule;
  weightDecay?: number;
  maxGradNorm?: number;
  beta2?: number;
}

export interface DeviceStepResult {
  /** Optimizer steps done, this one included. */
  step: number;
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  lr: number;
  /** Tokens in the batch (padding included, as the Trainer counts them). */
  tokens: number;
  seconds: number;
}

export type StepBatch = Pick<Batch, 'inputIds' | 'labels' | 'attentionMask'>;

export class DeviceTrainStep {
  readonly optimizer: AdamW;
  step = 0;
  private readonly o: Required<DeviceStepOptions>;

  constructor(readonly model: GemmaForCausalLM, readonly params: Map<string, tf.Variable>, opts: DeviceStepOptions) {
    if (!(opts.lr > 0)) throw new ArgumentError(`got ${opts.lr}`, { file: 'DeviceTrainStep', field: 'lr', expected: 'a learning rate above 0' });
    if (params.size === 0) throw new ArgumentError('no trainable parameters', { file: 'DeviceTrainStep', field: 'params', expected: 'one or more (attach LoRA first)' });
    this.o = { totalSteps: 1, warmupSteps: 0, schedule: 'constant', weightDecay: 0, maxGradNorm: 1, beta2: 0.999, ...opts };
    this.optimizer = new AdamW(params, { weightDecay: this.o.weightDecay, beta2: this.o.beta2 });
  }

  /** The loss of a batch and its gradients by parameter name, as tensors on the device; the caller disposes them. */
  lossAndGrads(batch: StepBatch): { loss: tf.Scalar; grads: Map<string, tf.Tensor> } {
    const vars = [...this.params.values()];
    const { value, grads } = tf.variableGrads(() => headLoss(this.model, batch.labels)(this.model.model.forward(batch.inputIds, { attentionMask: batch.attentionMask })), vars);
    const byName = new Map<string, tf.Tensor>();
    for (const [name, v] of this.params) if (grads[v.name]) byName.set(name, grads[v.name]);
    return { loss: value, grads: byName };
  }

  /** One optimizer step on `batch`. Throws TrainingDivergedError (and leaves every weight as it was) on a NaN/Inf loss. */
  async run(batch: StepBatch): Promise<DeviceStepResult> {
    const t0 = performance.now();
    // the Trainer's dropout seeding, so that both draw the same masks at the same step
    for (const [, m] of this.model.namedModules()) m.beforeStep(this.step);
    const { loss, grads } = this.lossAndGrads(batch);
    const { norm, clipped } = clipGradNormOnDevice(grads, this.o.maxGradNorm);
    const ok = tf.tidy(() => tf.logicalAnd(tf.isFinite(loss), tf.isFinite(norm)) as tf.Scalar);
    const lr = learningRate(this.step, { lr: this.o.lr, warmupSteps: this.o.warmupSteps, totalSteps: this.o.totalSteps, schedule: this.o.schedule });
    this.optimizer.step(clipped, lr, ok);
    const readout = tf.stack([loss, norm]);
    tf.dispose([loss, norm, ok, ...grads.values(), ...clipped.values()]);
    const [value, gradNorm] = await readout.data();
    readout.dispose();
    if (!Number.isFinite(value) || !Number.isFinite(gradNorm)) {
      this.optimizer.undoStepCount();
      throw new TrainingDivergedError(`loss is ${value} (gradient norm ${gradNorm}) at step ${this.step + 1}; the weights were left as they were. Lower the learning rate or check the data.`);
    }
    this.step++;
    const tokens = batch.inputIds.length * (batch.inputIds[0]?.length ?? 0);
    return { step: this.step, loss: value, gradNorm, lr, tokens, seconds: (performance.now() - t0) / 1000 };
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}
