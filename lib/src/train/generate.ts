/**
 * Text generation: greedy decoding, or sampling with a temperature and nucleus (top-p) truncation, one token at a
 * time until <eos> or maxNewTokens. (No key/value cache: every step re-reads the whole sequence, which is simple and
 * fine at LoRA Lab's sizes.)
 */
import * as tf from '@tensorflow/tfjs';
import type { GemmaForCausalLM } from '../models/gemma/model.js';
import { Rng } from '../util/rng.js';

export interface GenerateOptions {
  maxNewTokens?: number;
  /** 0 = greedy (default). */
  temperature?: number;
  topP?: number;
  seed?: number;
  eosId?: number;
}

/** Pick a token from logits: argmax, or sample from softmax(logits / T) restricted to the top-p mass. */
export function sampleToken(logits: Float32Array, o: { temperature: number; topP: number; rng: Rng }): number {
  if (o.temperature <= 0) {
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    return best;
  }
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  const probs = Array.from(logits, (v, i) => ({ i, p: Math.exp((v - max) / o.temperature) }));
  const z = probs.reduce((s, x) => s + x.p, 0);
  probs.sort((a, b) => b.p - a.p);
  let mass = 0;
  const kept: typeof probs = [];
  for (const x of probs) {
    kept.push(x);
    mass += x.p / z;
    if (mass >= o.topP) break;
  }
  const total = kept.reduce((s, x) => s + x.p, 0);
  let u = o.rng.next() * total;
  for (const x of kept) {
    u -= x.p;
    if (u <= 0) return x.i;
  }
  return kept[kept.length - 1].i;
}

/** The new token ids after `promptIds` (the prompt is not repeated in the result). */
export function generate(model: GemmaForCausalLM, promptIds: number[], o: GenerateOptions = {}): number[] {
  const maxNew = o.maxNewTokens ?? 64;
  const eos = o.eosId ?? model.config.eosTokenId;
  const rng = new Rng(o.seed ?? 0);
  const ids = [...promptIds];
  const out: number[] = [];
  const wasTraining = model.training;
  model.eval();
  try {
    for (let k = 0; k < maxNew; k++) {
      const last = tf.tidy(() => {
        const logits = model.forward([ids]);
        const V = logits.shape[2];
        return logits.slice([0, ids.length - 1, 0], [1, 1, V]).dataSync() as Float32Array;
      });
      const next = sampleToken(last, { temperature: o.temperature ?? 0, topP: o.topP ?? 1, rng });
      if (next === eos) break;
      ids.push(next);
      out.push(next);
    }
  } finally {
    model.train(wasTraining);
  }
  return out;
}

/**
 * Greedy decoding of several prompts at once (the eval command's path). Sequences are right-padded: with causal
 * attention a token never sees the padding after it, so each sequence's next token is read at its own last position
 * and is the token `generate` would pick for it alone. Only those B positions go through the output head, not the
 * whole [B, T, vocabulary] logits. One forward per step for the whole batch amortises TF.js's per-op cost.
 */
export function generateBatch(model: GemmaForCausalLM, prompts: number[][], o: { maxNewTokens?: number; eosId?: number; padId?: number } = {}): number[][] {
  const maxNew = o.maxNewTokens ?? 64;
  const eos = o.eosId ?? model.config.eosTokenId;
  const pad = o.padId ?? model.config.padTokenId;
  const seqs = prompts.map((p) => [...p]);
  const outs: number[][] = prompts.map(() => []);
  const done = prompts.map(() => false);
  const head = model.lmHead ?? model.model.embedTokens;
  const wasTraining = model.training;
  model.eval();
  try {
    for (let k = 0; k < maxNew && done.some((d) => !d); k++) {
      const live = seqs.map((_, i) => i).filter((i) => !done[i]);
      const T = Math.max(...live.map((i) => seqs[i].length));
      const ids = live.map((i) => [...seqs[i], ...new Array<number>(T - seqs[i].length).fill(pad)]);
      const mask = live.map((i) => seqs[i].map(() => 1).concat(new Array<number>(T - seqs[i].length).fill(0)));
      const next = tf.tidy(() => {
        const h = model.model.forward(ids, { attentionMask: mask }); // [B, T, H]
        const H = h.shape[2];
        const flat = h.reshape([live.length * T, H]);
        const rows = tf.tensor1d(live.map((i, b) => b * T + seqs[i].length - 1), 'int32');
        const last = tf.gather(flat, rows); // [B, H]
        return tf.argMax(head.project(last.expandDims(1)).squeeze([1]), -1).dataSync() as Int32Array;
      });
      live.forEach((i, b) => {
        const t = next[b];
        if (t === eos) done[i] = true;
        else {
          seqs[i].push(t);
          outs[i].push(t);
        }
      });
    }
  } finally {
    model.train(wasTraining);
  }
  return outs;
}
