// Writes a Hugging Face folder with Gemma-2B's exact config and tensor shapes, filled with random bf16 weights,
// sharded in two like the hub's checkpoint (model-0000N-of-00002.safetensors + model.safetensors.index.json).
// About 5 GB; not committed. Usage: npm run build && node scripts/make-gemma2b-random.mjs [DIR]
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { SafetensorsWriter } from '../lib/dist/io/index.js';
import { GEMMA_2B_CONFIG_JSON, gemmaWeightShapes, parseGemmaConfig } from '../lib/dist/models/gemma/index.js';

const dir = process.argv[2] ?? join(process.env.TMPDIR ?? '/tmp', 'gemma-2b-random');
mkdirSync(dir, { recursive: true });
const cfg = parseGemmaConfig(GEMMA_2B_CONFIG_JSON);
const shapes = [...gemmaWeightShapes(cfg)];

// xorshift32 -> uniform bf16 values in about ±0.05 (enough to exercise loading and quantization)
let s = 0x9e3779b9;
function fill(u16) {
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < u16.length; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    f[0] = (s / 4294967296 - 0.5) * 0.1;
    u16[i] = u[0] >>> 16;
  }
}

const shards = [[], []];
let bytes = 0;
const total = shapes.reduce((t, [, sh]) => t + 2 * sh.reduce((a, b) => a * b, 1), 0);
for (const entry of shapes) {
  const size = 2 * entry[1].reduce((a, b) => a * b, 1);
  shards[bytes + size / 2 < total / 2 ? 0 : 1].push(entry);
  bytes += size;
}
const weightMap = {};
for (let k = 0; k < 2; k++) {
  const file = `model-0000${k + 1}-of-00002.safetensors`;
  if (existsSync(join(dir, file))) {
    for (const [name] of shards[k]) weightMap[name] = file;
    continue;
  }
  const specs = Object.fromEntries(shards[k].map(([name, shape]) => [name, { dtype: 'BF16', shape }]));
  const w = new SafetensorsWriter(join(dir, file), specs, { format: 'pt' });
  for (const [name, shape] of shards[k]) {
    const u16 = new Uint16Array(shape.reduce((a, b) => a * b, 1));
    if (!name.endsWith('norm.weight')) fill(u16);
    w.write(name, new Uint8Array(u16.buffer));
    weightMap[name] = file;
  }
  w.close();
  process.stderr.write(`wrote ${file}\n`);
}
writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2));
writeFileSync(join(dir, 'config.json'), JSON.stringify(GEMMA_2B_CONFIG_JSON, null, 2));
console.log(dir);
