/** Down [hidden→m] + bias m, up [m→hidden] + bias hidden. */
export function houlsbyAdapterParams(hidden: number, bottleneck: number): number {
  return 2 * hidden * bottleneck + bottleneck + hidden;
}
/** Two adapters per layer: after attention and after the MLP. */
export function adapterParamsForModel(layers: number, hidden: number, bottleneck: number): number {
  return layers * 2 * houlsbyAdapterParams(hidden, bottleneck);
}
/** P keys and P values of kvDim in every layer. */
export function prefixParams(layers: number, numVirtualTokens: number, kvDim: number): number {
  return layers * 2 * numVirtualTokens * kvDim;
}
