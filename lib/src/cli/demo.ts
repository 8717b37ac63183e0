/**
 * `loralab demo`: the quantization core end to end on one transformer layer with Gemma-2B's attention shapes —
 * write a bf16 checkpoint, quantize it to NF4 with double quantization exactly as bitsandbytes stores it, inspect it,
 * dequantize it, and multiply with the bf16 dequantized weight on the TF.js backend.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { initBackend, tf } from '../backend/index.js';
import { writeSafetensors, SafetensorsReader, type RawTensor } from '../io/index.js';
import { floatTensor, toFloat32 } from '../io/floats.js';
import { roundToBf16 } from '../numerics/bf16.js';
import { numel } from '../numerics/dtype.js';
import { quantizeNF4 } from '../quant/quantize4bit.js';
import { dequantizeFile, inspectFile, quantizeFile } from '../quant/files.js';
import { Rng } from '../util/rng.js';
import { humanBytes, table } from './format.js';
import { num } from './args.js';

function rms(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s / a.length);
}

/** Gemma-2B's layer-0 attention tensors and their norm. */
const HIDDEN = 2048;
const SHAPES: Record<string, number[]> = {
  'model.layers.0.input_layernorm.weight': [HIDDEN],
  'model.layers.0.self_attn.q_proj.weight': [2048, HIDDEN],
  'model.layers.0.self_attn.k_proj.weight': [256, HIDDEN],
  'model.layers.0.self_attn.v_proj.weight': [256, HIDDEN],
  'model.layers.0.self_attn.o_proj.weight': [HIDDEN, 2048],
};
const Q_PROJ = 'model.layers.0.self_attn.q_proj.weight';

/** Step 1: a bf16 checkpoint with those shapes, weights ~ N(0, 0.02²), norms at zero. */
function writeDenseCheckpoint(file: string, seed: number): Record<string, RawTensor> {
  const rng = new Rng(seed);
  const tensors = Object.fromEntries(
    Object.entries(SHAPES).map(([name, shape]) => {
      const n = numel(shape);
      const values = shape.length === 1 ? new Float32Array(n) : rng.normalArray(n, 0.02);
      return [name, floatTensor(roundToBf16(values), shape, 'BF16')];
    }),
  );
  writeSafetensors(file, tensors, { format: 'pt' });
  console.log(`\n1. A bf16 checkpoint with Gemma-2B's layer-0 attention shapes (weights ~ N(0, 0.02²)): ${file}`);
  return tensors;
}

/** Step 2: NF4's trace (absmax, scaled value, code, dequantized value, error) for the first 8 weights. */
function showNf4Trace(w: Float32Array): void {
  const { trace } = quantizeNF4(w.subarray(0, 128), { blocksize: 64, trace: true });
  console.log('\n2. What NF4 does to the first 8 weights of q_proj (block 0, blocksize 64):');
  console.log(`   absmax of block 0 = ${trace.absmax[0].toPrecision(6)}`);
  const rows = Array.from({ length: 8 }, (_, i) => [
    String(i), w[i].toFixed(6), trace.scaled[i].toFixed(6), String(trace.codes[i]), trace.dequantized[i].toFixed(6), trace.error[i].toExponential(2),
  ]);
  console.log(table(['element', 'weight', 'scaled = w/absmax', 'code', 'dequantized', 'error'], rows, ['r', 'r', 'r', 'r', 'r', 'r']).replace(/^/gm, '   '));
}

/** Step 3: the file quantized to NF4 with double quantization, its size, q_proj's bits per parameter and keys. */
function quantizeStep(dense: string, q4: string): void {
  const r = quantizeFile(dense, q4, { quantType: 'nf4', blocksize: 64, doubleQuant: true, computeDtype: 'bfloat16' });
  console.log(`\n3. loralab quantize ${dense} ${q4} --double-quant`);
  console.log(`   ${humanBytes(r.inputBytes)} -> ${humanBytes(r.outputBytes)}; 4-bit tensors: ${r.quantized.length}, copied: ${r.copied.length}`);
  const info = inspectFile(q4);
  const qp = info.quantized.find((p) => p.param === Q_PROJ)!;
  console.log(`   q_proj: ${qp.bits.total.toFixed(4)} bits/parameter (paper: 4 + 8/64 + 32/(64·256) = 4.127), offset ${qp.state.doubleQuant?.offset.toPrecision(6)}`);
  const keys = info.tensors.filter((t) => t.name.startsWith('model.layers.0.self_attn.q_proj')).map((t) => `${t.name.replace('model.layers.0.self_attn.', '')} ${t.dtype}[${t.shape.join(',')}]`);
  console.log(`   keys: ${keys.join(', ')}`);
}

/** Step 4: dequantized back to bf16; returns q_proj's dequantized values. */
function dequantizeStep(q4: string, back: string, w: Float32Array): Float32Array {
  dequantizeFile(q4, back);
  const rd = SafetensorsReader.open(back);
  let wq: Float32Array;
  try {
    wq = toFloat32(rd.read(Q_PROJ));
  } finally {
    rd.close();
  }
  const err = new Float32Array(w.length).map((_, i) => wq[i] - w[i]);
  console.log(`\n4. loralab dequantize -> bf16: relative RMS error of q_proj = ${(rms(err) / rms(w)).toFixed(4)}`);
  return wq;
}

/** Step 5: y = x·Wᵀ with the dequantized weight against the original, on the active TF.js backend. */
function matmulStep(w: Float32Array, wq: Float32Array): void {
  const rel = tf.tidy(() => {
    const x = tf.tensor2d(new Rng(1).normalArray(4 * HIDDEN), [4, HIDDEN]);
    const y = tf.matMul(x, tf.tensor2d(w, [2048, HIDDEN]), false, true);
    const yq = tf.matMul(x, tf.tensor2d(wq, [2048, HIDDEN]), false, true);
    return tf.norm(tf.sub(yq, y)).div(tf.norm(y)).dataSync()[0];
  });
  console.log(`5. y = x·Wᵀ on '${tf.getBackend()}' with the bf16 dequantized weight: relative error ${rel.toFixed(4)} vs the bf16 original`);
}

/** `loralab demo`: a Gemma-2B-shaped attention layer through quantize, inspect and dequantize, every step printed. */
async function runDemo(o: { dir: string; seed: string }): Promise<void> {
  const seed = num('--seed', o.seed, { int: true, min: 0 });
  await initBackend();
  mkdirSync(o.dir, { recursive: true });
  const [dense, q4, back] = ['layer0-bf16', 'layer0-nf4-dq', 'layer0-dequantized'].map((f) => join(o.dir, `${f}.safetensors`));
  const w = toFloat32(writeDenseCheckpoint(dense, seed)[Q_PROJ]);
  showNf4Trace(w);
  quantizeStep(dense, q4);
  matmulStep(w, dequantizeStep(q4, back, w));
  console.log(`\nNext: npx loralab inspect ${q4}`);
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('Quantize a Gemma-2B-shaped attention layer to NF4 + double quantization and show every step')
    .option('--dir <dir>', 'where to write the demo files', 'loralab-demo')
    .option('--seed <n>', 'random seed', '0')
    .action(async (o: { dir: string; seed: string }) => runDemo(o));
}
