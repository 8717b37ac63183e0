// Writes test/fixtures/gemma-tiny/: a Gemma with a tiny config, random bf16 weights (seeded) and a small trained
// tokenizer, in Hugging Face's folder layout. Run: npm run build && node scripts/make-gemma-fixture.mjs
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { trainBpeTokenizer, gemmaTokenizerConfig, writeSafetensors } from '../lib/dist/io/index.js';
import { floatTensor } from '../lib/dist/quant/index.js';
import { gemmaWeightShapes, parseGemmaConfig } from '../lib/dist/models/gemma/index.js';
import { Rng } from '../lib/dist/util/rng.js';

const out = new URL('../test/fixtures/gemma-tiny/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });

const texts = [
  'SELECT name, city FROM customers WHERE city = \'Paris\' ORDER BY name;',
  'How many orders did each customer place in 2023?',
  'The quarterly revenue of the retail segment grew by 4 percent.',
  'Low-rank adaptation freezes the pretrained weights and learns a small update.',
];
const tokenizer = trainBpeTokenizer(texts.flatMap((t) => Array(4).fill(t)), { vocabSize: 384 });
writeFileSync(join(out, 'tokenizer.json'), JSON.stringify(tokenizer));
writeFileSync(join(out, 'tokenizer_config.json'), `${JSON.stringify(gemmaTokenizerConfig(), null, 2)}\n`);

const config = {
  architectures: ['GemmaForCausalLM'],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 2,
  eos_token_id: 1,
  head_dim: 16,
  hidden_act: 'gelu',
  hidden_size: 64,
  initializer_range: 0.02,
  intermediate_size: 128,
  max_position_embeddings: 256,
  model_type: 'gemma',
  num_attention_heads: 4,
  num_hidden_layers: 2,
  num_key_value_heads: 1,
  pad_token_id: 0,
  rms_norm_eps: 1e-6,
  rope_scaling: null,
  rope_theta: 10000.0,
  torch_dtype: 'bfloat16',
  transformers_version: '4.38.0',
  use_cache: true,
  vocab_size: 384,
};
writeFileSync(join(out, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);

const rng = new Rng(2024);
const tensors = {};
for (const [name, shape] of gemmaWeightShapes(parseGemmaConfig(config))) {
  const n = shape.reduce((a, b) => a * b, 1);
  // norms get small non-zero weights so that the (1 + w) scaling is exercised
  const values = shape.length === 1 ? rng.normalArray(n, 0.1) : rng.normalArray(n, name.includes('embed') ? 0.5 : 0.08);
  tensors[name] = floatTensor(values, shape, 'BF16');
}
writeSafetensors(join(out, 'model.safetensors'), tensors, { format: 'pt' });
console.log(`wrote ${out}`);
