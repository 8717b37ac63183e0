/**
 * Trainable parameters of the comparison methods by formula, with no TF.js (so `loralab/memory` and the analytic
 * tables stay light); the layers' static `parameterCount` methods return these.
 */

/** One bottleneck adapter (Houlsby et al. 2019): W_down [m, h] + b_down [m] + W_up [h, m] + b_up [h] = 2·h·m + m + h. */
export function bottleneckAdapterParameters(hidden: number, bottleneck: number): number {
  return 2 * hidden * bottleneck + bottleneck + hidden;
}

/** Prefix tuning (Li & Liang 2021): a key and a value [P, kvDim] per layer, layers · 2 · P · kvDim. */
export function prefixParameters(layers: number, numVirtualTokens: number, kvDim: number): number {
  return layers * 2 * numVirtualTokens * kvDim;
}
