/**
 * `loralab demo`: the quantization core end to end on one transformer layer with Gemma-2B's attention shapes —
 * write a bf16 checkpoint, quantize it to NF4 with double quantization exactly as bitsandbytes stores it, inspect it,
 * dequantize it, and multiply with the bf16 dequantized weight on the TF.js backend.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { initBackend, tf } from '../backend/index.js';
import { writeSafetensors, SafetensorsReader } from '../io/index.js';
import { floatTensor, toFloat32 } from '../io/floats.js';
import { roundToBf16 } from '../numerics/bf16.js';
import { numel } from '../numerics/dtype.js';
import { quantizeNF4 } from '../quant/quantize4bit.js';
import { dequantizeFile, inspectFile, quantizeFile } from '../quant/files.js';
import { Rng } from '../util/rng.js';
import { humanBytes, table } from './format.js';

function rms(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s / a.length);
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('Quantize a Gemma-2B-shaped attention layer to NF4 + double quantization and show every step')
    .option('--dir <dir>', 'where to write the demo files', 'loralab-demo')
    .option('--seed <n>', 'random seed', '0')
    .action(async (o: { dir: string; seed: string }) => {
      await initBackend();
      mkdirSync(o.dir, { recursive: true });
      const rng = new Rng(Number(o.seed));
      const d = 2048;
      const shapes: Record<string, number[]> = {
        'model.layers.0.input_layernorm.weight': [d],
        'model.layers.0.self_attn.q_proj.weight': [2048, d],
        'model.layers.0.self_attn.k_proj.weight': [256, d],
        'model.layers.0.self_attn.v_proj.weight': [256, d],
        'model.layers.0.self_attn.o_proj.weight': [d, 2048],
      };
      const dense = join(o.dir, 'layer0-bf16.safetensors');
      const q4 = join(o.dir, 'layer0-nf4-dq.safetensors');
      const back = join(o.dir, 'layer0-dequantized.safetensors');
      const tensors = Object.fromEntries(
        Object.entries(shapes).map(([name, shape]) => {
          const n = numel(shape);
          const values = shape.length === 1 ? new Float32Array(n) : rng.normalArray(n, 0.02);
          return [name, floatTensor(roundToBf16(values), shape, 'BF16')];
        }),
      );
      writeSafetensors(dense, tensors, { format: 'pt' });
      console.log(`\n1. A bf16 checkpoint with Gemma-2B's layer-0 attention shapes (weights ~ N(0, 0.02²)): ${dense}`);

      const w = toFloat32(tensors['model.layers.0.self_attn.q_proj.weight']);
      const { trace } = quantizeNF4(w.subarray(0, 128), { blocksize: 64, trace: true });
      console.log('\n2. What NF4 does to the first 8 weights of q_proj (block 0, blocksize 64):');
      console.log(`   absmax of block 0 = ${trace.absmax[0].toPrecision(6)}`);
      console.log(
        table(
          ['element', 'weight', 'scaled = w/absmax', 'code', 'dequantized', 'error'],
          Array.from({ length: 8 }, (_, i) => [
            String(i), w[i].toFixed(6), trace.scaled[i].toFixed(6), String(trace.codes[i]), trace.dequantized[i].toFixed(6), trace.error[i].toExponential(2),
          ]),
          ['r', 'r', 'r', 'r', 'r', 'r'],
        ).replace(/^/gm, '   '),
      );

      const r = quantizeFile(dense, q4, { quantType: 'nf4', blocksize: 64, doubleQuant: true, computeDtype: 'bfloat16' });
      console.log(`\n3. loralab quantize ${dense} ${q4} --double-quant`);
      console.log(`   ${humanBytes(r.inputBytes)} -> ${humanBytes(r.outputBytes)}; 4-bit tensors: ${r.quantized.length}, copied: ${r.copied.length}`);
      const info = inspectFile(q4);
      const qp = info.quantized.find((p) => p.param.endsWith('q_proj.weight'))!;
      console.log(`   q_proj: ${qp.bits.total.toFixed(4)} bits/parameter (paper: 4 + 8/64 + 32/(64·256) = 4.127), offset ${qp.state.doubleQuant?.offset.toPrecision(6)}`);
      console.log(`   keys: ${info.tensors.filter((t) => t.name.startsWith('model.layers.0.self_attn.q_proj')).map((t) => `${t.name.replace('model.layers.0.self_attn.', '')} ${t.dtype}[${t.shape.join(',')}]`).join(', ')}`);

      dequantizeFile(q4, back);
      const rd = SafetensorsReader.open(back);
      const wq = toFloat32(rd.read('model.layers.0.self_attn.q_proj.weight'));
      rd.close();
      const err = new Float32Array(w.length).map((_, i) => wq[i] - w[i]);
      console.log(`\n4. loralab dequantize -> bf16: relative RMS error of q_proj = ${(rms(err) / rms(w)).toFixed(4)}`);

      const x = tf.tensor2d(new Rng(1).normalArray(4 * d), [4, d]);
      const y = tf.matMul(x, tf.tensor2d(w, [2048, d]), false, true);
      const yq = tf.matMul(x, tf.tensor2d(wq, [2048, d]), false, true);
      const rel = tf.norm(tf.sub(yq, y)).div(tf.norm(y)).dataSync()[0];
      console.log(`5. y = x·Wᵀ on '${tf.getBackend()}' with the bf16 dequantized weight: relative error ${rel.toFixed(4)} vs the bf16 original`);
      console.log(`\nNext: npx loralab inspect ${q4}`);
    });
}
