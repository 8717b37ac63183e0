/**
 * The other parameter-efficient methods of the brief's section 5, on a Gemma model: bottleneck adapters (Houlsby)
 * after every attention block and MLP, and prefix tuning (trainable key/value prefixes per layer). The base model is
 * frozen; only the added parameters train.
 */
import * as tf from '@tensorflow/tfjs';
import { BottleneckAdapter, PrefixKV } from '../layers/adapters.js';
import { Module, ModuleList, countParameters, type ParameterCount } from '../layers/module.js';
import type { Activation } from '../layers/activations.js';
import type { GemmaForCausalLM } from '../models/gemma/model.js';
import { PeftConfigError } from './config.js';

export interface MethodModel {
  model: GemmaForCausalLM;
  /** The added modules (adapters or prefixes), named by layer. */
  added: Module;
  trainableVariables(): tf.Variable[];
  parameterCount(): ParameterCount;
}

export function addBottleneckAdapters(model: GemmaForCausalLM, opts: { bottleneck: number; activation?: Activation; seed?: number }): MethodModel {
  model.setTrainable(false);
  const added = new ModuleList();
  model.model.layers.forEach((layer, i) => {
    const a = new BottleneckAdapter(model.config.hiddenSize, { bottleneck: opts.bottleneck, activation: opts.activation, seed: (opts.seed ?? 0) * 1009 + 2 * i });
    const m = new BottleneckAdapter(model.config.hiddenSize, { bottleneck: opts.bottleneck, activation: opts.activation, seed: (opts.seed ?? 0) * 1009 + 2 * i + 1 });
    layer.attachOutputHook('attn', 'attn_adapter', a);
    layer.attachOutputHook('mlp', 'mlp_adapter', m);
    added.add(`${i}.attn_adapter`, a);
    added.add(`${i}.mlp_adapter`, m);
  });
  return { model, added, trainableVariables: () => model.trainableVariables(), parameterCount: () => countParameters(model) };
}

export function addPrefixTuning(model: GemmaForCausalLM, opts: { numVirtualTokens: number; seed?: number }): MethodModel {
  if (!Number.isInteger(opts.numVirtualTokens) || opts.numVirtualTokens <= 0) throw new PeftConfigError(`got ${opts.numVirtualTokens}`, { file: 'addPrefixTuning', field: 'numVirtualTokens', expected: 'a positive integer' });
  model.setTrainable(false);
  const kvDim = model.config.numKeyValueHeads * model.config.headDim;
  const added = new ModuleList();
  model.model.layers.forEach((layer, i) => {
    const p = new PrefixKV(opts.numVirtualTokens, kvDim, (opts.seed ?? 0) * 1009 + i);
    layer.selfAttn.attachKvPrefix(p);
    added.add(String(i), p);
  });
  const all = (): ParameterCount => {
    const base = countParameters(model);
    const extra = countParameters(added);
    const total = base.total + extra.total;
    const trainable = base.trainable + extra.trainable;
    return { total, trainable, percent: (100 * trainable) / total };
  };
  return { model, added, trainableVariables: () => [...model.trainableVariables(), ...added.trainableVariables()], parameterCount: all };
}
