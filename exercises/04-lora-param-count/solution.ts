export interface Shapes { hiddenSize: number; intermediateSize: number; numHiddenLayers: number; numAttentionHeads: number; numKeyValueHeads: number; headDim: number }

export function loraParamCount(cfg: Shapes, r: number, targetModules: string[]): number {
  const h = cfg.hiddenSize, q = cfg.numAttentionHeads * cfg.headDim, kv = cfg.numKeyValueHeads * cfg.headDim, I = cfg.intermediateSize;
  const shapes: Record<string, [number, number]> = {
    q_proj: [q, h], k_proj: [kv, h], v_proj: [kv, h], o_proj: [h, q], gate_proj: [I, h], up_proj: [I, h], down_proj: [h, I],
  };
  let perLayer = 0;
  for (const t of targetModules) {
    const s = shapes[t];
    if (!s) throw new Error(`unknown module '${t}'`);
    perLayer += r * (s[0] + s[1]); // B [out, r] + A [r, in]
  }
  return cfg.numHiddenLayers * perLayer;
}
