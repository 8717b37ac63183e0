/**
 * A minimal module tree, named like PyTorch's: every layer knows its children by attribute name, so that
 * `namedModules()` yields the same dotted paths as transformers (`model.layers.0.self_attn.q_proj`) and PEFT's
 * `targetModules` and saved keys mean the same thing here.
 */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError } from '../util/errors.js';

export interface ParamInfo {
  /** Dotted name relative to the module, e.g. `weight` or `lora_A.weight`. */
  name: string;
  shape: number[];
  /** Number of values the parameter represents (a 4-bit weight counts its logical elements). */
  numel: number;
  trainable: boolean;
  /** The tf.Variable, for trainable parameters (and dense frozen ones). */
  variable?: tf.Variable;
}

export abstract class Module {
  /** Direct children by attribute name (insertion order = registration order). */
  protected readonly childModules = new Map<string, Module>();
  /** Training mode (dropout active), as torch's `module.train()` / `module.eval()`. */
  training = false;

  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /**
   * Called on every module of the tree by a trainer before optimizer step `step` (0-based). A layer that draws
   * randomness per step (LoRA's dropout masks) reseeds here, so that a resumed run draws the same masks; the trainer
   * need not know which layers do.
   */
  beforeStep(_step: number): void {}

  protected register<M extends Module>(name: string, m: M): M {
    this.childModules.set(name, m);
    return m;
  }

  /** Replace a child (used to wrap a Linear in a LoraLinear). */
  setChild(name: string, m: Module): void {
    if (!this.childModules.has(name)) throw new ArgumentError(`no child module '${name}' to replace`, { file: 'Module.setChild', field: 'name', expected: `one of ${[...this.childModules.keys()].join(', ') || '(no children)'}` });
    this.childModules.set(name, m);
    this.onChildReplaced(name, m);
  }

  /** Hook for subclasses that keep typed references to children. */
  protected onChildReplaced(_name: string, _m: Module): void {}

  children(): [string, Module][] {
    return [...this.childModules.entries()];
  }

  getChild(name: string): Module | undefined {
    return this.childModules.get(name);
  }

  *namedModules(prefix = ''): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [name, child] of this.childModules) yield* child.namedModules(prefix ? `${prefix}.${name}` : name);
  }

  /** This module's own parameters (not its children's). */
  ownParameters(): ParamInfo[] {
    return [];
  }

  *namedParameters(prefix = ''): Generator<ParamInfo> {
    for (const p of this.ownParameters()) yield { ...p, name: prefix ? `${prefix}.${p.name}` : p.name };
    for (const [name, child] of this.childModules) yield* child.namedParameters(prefix ? `${prefix}.${name}` : name);
  }

  trainableVariables(): tf.Variable[] {
    const out: tf.Variable[] = [];
    for (const p of this.namedParameters()) if (p.trainable && p.variable) out.push(p.variable);
    return out;
  }

  /** Freeze or unfreeze every dense parameter of this subtree. */
  setTrainable(trainable: boolean): void {
    for (const [, m] of this.namedModules()) m.setOwnTrainable(trainable);
  }

  protected setOwnTrainable(_trainable: boolean): void {}

  /** Free the tensors this module owns (not its children). */
  protected disposeOwn(): void {}

  dispose(): void {
    for (const [, m] of this.namedModules()) m.disposeOwn();
  }
}

/**
 * Children by name, like torch's nn.ModuleList (names '0', '1', …) and nn.ModuleDict: a node of the tree that only
 * groups modules, so their parameters get dotted names (`layers.0.self_attn.q_proj.weight`).
 */
export class ModuleList extends Module {
  add<M extends Module>(name: string, m: M): M {
    return this.register(name, m);
  }
}

export interface ParameterCount {
  total: number;
  trainable: number;
  /** 100 * trainable / total */
  percent: number;
}

export function countParameters(m: Module): ParameterCount {
  let total = 0;
  let trainable = 0;
  for (const p of m.namedParameters()) {
    total += p.numel;
    if (p.trainable) trainable += p.numel;
  }
  return { total, trainable, percent: total ? (100 * trainable) / total : 0 };
}

/** PEFT's `print_trainable_parameters` line. */
export function formatTrainableParameters(c: ParameterCount): string {
  return `trainable params: ${c.trainable.toLocaleString('en-US')} || all params: ${c.total.toLocaleString('en-US')} || trainable%: ${c.percent.toFixed(4)}`;
}

/** map[key] += g, taking ownership of g (the previous sum and g are disposed). Accumulates gradients. */
export function addInto<K>(map: Map<K, tf.Tensor>, key: K, g: tf.Tensor): void {
  const prev = map.get(key);
  if (!prev) {
    map.set(key, g);
    return;
  }
  map.set(key, prev.add(g));
  prev.dispose();
  g.dispose();
}
