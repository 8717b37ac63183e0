/**
 * The five ways to fine-tune, behind one interface: each returns the variables that train and how to save them.
 * `qlora` is LoRA on a model loaded with 4-bit NF4 linear layers (double quantization, bf16 compute): the caller loads
 * the model that way (loadGemma(dir, QLORA_LOAD_OPTIONS)); the adapters are the same.
 */
import type * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import type { GemmaForCausalLM } from '../models/gemma/model.js';
import type { LoadOptions } from '../models/gemma/load.js';
import { getPeftModel, type PeftModel } from '../peft/model.js';
import { DEFAULT_TARGET_MODULES, LORA_DEFAULTS } from '../peft/config.js';
import { addBottleneckAdapters, addPrefixTuning } from '../peft/methods.js';
import { ADAPTER_WEIGHTS_NAME } from '../peft/model.js';
import type { Module } from '../layers/module.js';
import { variablesTrainableSet, type TrainableSet } from './trainer.js';

export const METHODS = ['lora', 'qlora', 'full', 'adapter', 'prefix'] as const;
export type Method = (typeof METHODS)[number];

/** QLoRA's loading: NF4, double quantization, bf16 compute (QLoRA paper §3). */
export const QLORA_LOAD_OPTIONS: LoadOptions = { loadIn4bit: true, bnb4bitQuantType: 'nf4', bnb4bitUseDoubleQuant: true, bnb4bitComputeDtype: 'bfloat16' };

export interface MethodOptions {
  r?: number;
  loraAlpha?: number;
  loraDropout?: number;
  targetModules?: string[] | string;
  /** Adapter bottleneck width (default r). */
  bottleneck?: number;
  /** Prefix length (default r). */
  numVirtualTokens?: number;
  seed?: number;
}

export interface PreparedMethod {
  method: Method;
  trainable: TrainableSet;
  peft: PeftModel<GemmaForCausalLM> | null;
  /** Modules added by the method (adapters, prefixes), if any. */
  added: Module | null;
}

function namedVariables(m: Module, prefix = ''): Map<string, tf.Variable> {
  const out = new Map<string, tf.Variable>();
  for (const p of m.namedParameters(prefix)) if (p.trainable && p.variable) out.set(p.name, p.variable);
  return out;
}

/**
 * The training recipe's α when none is given: 2r (γ = α/r = 2 whatever the rank), on purpose not PEFT's fixed
 * lora_alpha = 8 (LORA_DEFAULTS), whose γ = 8/r shrinks as r grows. `loralab train` prints the α it used.
 */
export function recipeLoraAlpha(r: number): number {
  return 2 * r;
}

export function prepareMethod(model: GemmaForCausalLM, method: Method, o: MethodOptions = {}): PreparedMethod {
  const r = o.r ?? LORA_DEFAULTS.r;
  switch (method) {
    case 'lora':
    case 'qlora': {
      const peft = getPeftModel(model, {
        r,
        loraAlpha: o.loraAlpha ?? recipeLoraAlpha(r),
        loraDropout: o.loraDropout ?? LORA_DEFAULTS.loraDropout,
        targetModules: o.targetModules ?? [...DEFAULT_TARGET_MODULES],
        taskType: 'CAUSAL_LM',
        seed: o.seed ?? 0,
      });
      const params = peft.adapterVariables();
      return {
        method,
        peft,
        added: null,
        trainable: { params, save: (dir) => peft.saveAdapter(dir), load: (dir) => peft.loadAdapterWeights(join(dir, ADAPTER_WEIGHTS_NAME)) },
      };
    }
    case 'full': {
      model.setTrainable(true);
      return { method, peft: null, added: null, trainable: variablesTrainableSet(namedVariables(model)) };
    }
    case 'adapter': {
      const m = addBottleneckAdapters(model, { bottleneck: o.bottleneck ?? r, seed: o.seed });
      return { method, peft: null, added: m.added, trainable: variablesTrainableSet(namedVariables(m.added, 'adapters')) };
    }
    case 'prefix': {
      const m = addPrefixTuning(model, { numVirtualTokens: o.numVirtualTokens ?? r, seed: o.seed });
      return { method, peft: null, added: m.added, trainable: variablesTrainableSet(namedVariables(m.added, 'prefix')) };
    }
  }
}
