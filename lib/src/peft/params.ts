/**
 * Parameter counts measured on the real module tree (shape-only "meta" layers, so a 7B model costs no memory): inject
 * the method and count its parameters. They must agree with the formulas of paramCounts.ts.
 */
import { countParameters, type ParameterCount } from '../layers/module.js';
import { createGemma } from '../models/gemma/load.js';
import { getPeftModel } from './model.js';
import { addBottleneckAdapters, addPrefixTuning } from './methods.js';
import { methodTable, type MethodRow, type MethodTableOptions, type ShapeConfig } from './paramCounts.js';
import { ArgumentError } from '../util/errors.js';

/** The same table by building the module trees (meta layers) and counting their parameters. */
export function methodTableByModules(cfg: ShapeConfig, o: MethodTableOptions): MethodRow[] {
  if (cfg.mlp === 'plain') throw new ArgumentError("LoRA Lab builds Gemma's gated MLP only; this model has a plain two-matrix MLP: count it with methodTable", { file: 'methodTableByModules', field: 'mlp', expected: "'gated'" });
  const fresh = () => createGemma(cfg, { meta: true });
  const full = fresh();
  full.setTrainable(true);
  const f = countParameters(full);
  const peft = getPeftModel(fresh(), { r: o.r, loraAlpha: o.r, targetModules: o.targetModules });
  const l = peft.parameterCount();
  const a = addBottleneckAdapters(fresh(), { bottleneck: o.bottleneck ?? o.r }).parameterCount();
  const p = addPrefixTuning(fresh(), { numVirtualTokens: o.numVirtualTokens ?? o.r }).parameterCount();
  const t = methodTable(cfg, o);
  const fromCount = (i: number, c: ParameterCount) => ({ ...t[i], total: c.total, trainable: c.trainable, percent: c.percent });
  return [fromCount(0, f), fromCount(1, l), fromCount(2, a), fromCount(3, p)];
}
