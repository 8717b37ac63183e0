/**
 * Save a Gemma as a Hugging Face folder: config.json, model.safetensors (bf16 or f32, 4-bit layers dequantized,
 * transformers' names, no lm_head when tied) and the tokenizer files. It loads back in LoRA Lab, and in transformers.
 */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SafetensorsWriter, type TensorSpec } from '../../io/index.js';
import { fromFloat32 } from '../../io/floats.js';
import type { FloatStorage } from '../../numerics/dtype.js';
import { dequantize4bit } from '../../quant/quantize4bit.js';
import { Linear, Linear4bit } from '../../layers/linear.js';
import { LoraLinear } from '../../layers/lora.js';
import { Embedding } from '../../layers/embedding.js';
import { GemmaRMSNorm } from '../../layers/norm.js';
import type { GemmaForCausalLM } from './model.js';
import { ArgumentError } from '../../util/errors.js';

export function saveGemma(model: GemmaForCausalLM, dir: string, opts: { dtype?: 'bfloat16' | 'float32'; tokenizerFrom?: string } = {}): void {
  const dtype = opts.dtype ?? 'bfloat16';
  const storage: FloatStorage = dtype === 'bfloat16' ? 'BF16' : 'F32';
  mkdirSync(dir, { recursive: true });
  const producers = new Map<string, { spec: TensorSpec; values: () => Float32Array }>();
  for (const [path, m] of model.namedModules()) {
    if (m instanceof LoraLinear) throw new ArgumentError('still has a LoRA adapter', { file: 'saveGemma', field: path, expected: 'a plain model: merge the adapter first (mergeAndUnload)' });
    if (m instanceof Linear) {
      producers.set(`${path}.weight`, { spec: { dtype: storage, shape: [m.outFeatures, m.inFeatures] }, values: () => m.denseWeight() });
      if (m.bias) producers.set(`${path}.bias`, { spec: { dtype: storage, shape: [m.outFeatures] }, values: () => m.bias!.dataSync() as Float32Array });
    } else if (m instanceof Linear4bit) {
      producers.set(`${path}.weight`, { spec: { dtype: storage, shape: [m.outFeatures, m.inFeatures] }, values: () => dequantize4bit(m.state, { dtype }) });
      if (m.bias) producers.set(`${path}.bias`, { spec: { dtype: storage, shape: [m.outFeatures] }, values: () => m.bias!.dataSync() as Float32Array });
    } else if (m instanceof GemmaRMSNorm) {
      producers.set(`${path}.weight`, { spec: { dtype: storage, shape: [m.dim] }, values: () => m.weight.dataSync() as Float32Array });
    } else if (m instanceof Embedding) {
      producers.set(`${path}.weight`, { spec: { dtype: storage, shape: [m.numEmbeddings, m.embeddingDim] }, values: () => m.denseWeight() });
    }
  }
  const specs = Object.fromEntries([...producers].map(([k, v]) => [k, v.spec]));
  const w = new SafetensorsWriter(join(dir, 'model.safetensors'), specs, { format: 'pt' });
  try {
    for (const [k, v] of producers) w.write(k, fromFloat32(v.values(), storage));
    w.close();
  } catch (e) {
    w.abort();
    throw e;
  }
  const config = { ...model.config.raw, torch_dtype: dtype };
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  if (opts.tokenizerFrom) {
    for (const f of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'tokenizer.model']) {
      if (existsSync(join(opts.tokenizerFrom, f))) copyFileSync(join(opts.tokenizerFrom, f), join(dir, f));
    }
  }
}
