export function houlsbyAdapterParams(hidden: number, bottleneck: number): number {
  return 2 * hidden * bottleneck; // TODO: biases
}
export function adapterParamsForModel(layers: number, hidden: number, bottleneck: number): number {
  return layers * houlsbyAdapterParams(hidden, bottleneck); // TODO: how many adapters per layer?
}
export function prefixParams(layers: number, numVirtualTokens: number, kvDim: number): number {
  return layers * numVirtualTokens * kvDim; // TODO: keys and values
}
