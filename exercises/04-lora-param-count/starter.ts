export interface Shapes { hiddenSize: number; intermediateSize: number; numHiddenLayers: number; numAttentionHeads: number; numKeyValueHeads: number; headDim: number }

export function loraParamCount(cfg: Shapes, r: number, targetModules: string[]): number {
  // TODO: use each module's real shape (k_proj and v_proj use the number of key/value heads)
  return cfg.numHiddenLayers * targetModules.length * r * 2 * cfg.hiddenSize;
}
