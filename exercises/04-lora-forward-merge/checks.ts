import * as tf from '@tensorflow/tfjs';
import { Linear, LoraLinear } from 'loralab/layers';
import type { Exercise, Helpers } from '../grader/types.js';

type M = number[][];
const rand = (rows: number, cols: number, g: { normal(): number }, s = 1) => Array.from({ length: rows }, () => Array.from({ length: cols }, () => s * g.normal()));
function layer(t: Helpers, seed: number, dIn = 12, dOut = 10, r = 4, alpha = 8, rs = false) {
  const g = t.rng(seed);
  const W0 = rand(dOut, dIn, g, 0.3), A = rand(r, dIn, g, 0.3), B = rand(dOut, r, g, 0.3), x = rand(5, dIn, g);
  const lora = new LoraLinear(new Linear(dIn, dOut, { weight: Float32Array.from(W0.flat()) }), { r, loraAlpha: alpha, useRslora: rs });
  lora.loraA.assign(tf.tensor2d(A)); lora.loraB.assign(tf.tensor2d(B));
  const ref = (lora.forward(tf.tensor2d(x)).arraySync() as M);
  return { W0, A, B, x, ref, scaling: lora.scaling, r, alpha };
}
const flat = (m: unknown, what: string, t: Helpers): number[] => {
  if (!Array.isArray(m) || !m.every(Array.isArray)) t.fail(`${what}: expected number[][] (an array of rows)`);
  return (m as M).flat();
};

export default {
  title: 'The LoRA forward pass and merge',
  exports: ['loraScaling', 'loraForward', 'mergeWeight'],
  forbiddenImports: ['loraScaling', 'LoraLinear', 'getPeftModel', 'PeftModel'],
  readNext: 'notebooks/04-lora-mathematics.ipynb; the LoRA paper, section 4.1',
  checks: [
    { name: 'scaling α/r and rsLoRA α/√r', points: 2, hint: 'γ = lora_alpha / r; with use_rslora, lora_alpha / sqrt(r)', run: (m, t) => {
      const s = m.loraScaling as (r: number, a: number, rs?: boolean) => number;
      t.close(s(8, 16), 2, 1e-12, 'loraScaling(8, 16)');
      t.close(s(16, 16, true), 4, 1e-12, 'loraScaling(16, 16, true)');
      t.close(s(4, 8), 2, 1e-12, 'loraScaling(4, 8)');
    } },
    { name: 'forward pass matches PEFT (LoraLinear)', points: 4, hint: 'x W0ᵀ + γ (x Aᵀ) Bᵀ; A is [r][d_in], B is [d_out][r]', run: (m, t) => {
      for (const [seed, rs] of [[1, false], [2, true]] as [number, boolean][]) {
        const L = layer(t, seed, 12, 10, 4, 8, rs);
        t.allClose(flat((m.loraForward as (...a: unknown[]) => M)(L.x, L.W0, L.A, L.B, L.scaling), 'loraForward', t), L.ref.flat(), 1e-4, `loraForward (rsLoRA ${rs})`);
      }
    } },
    { name: 'merged weight gives the same outputs', points: 4, hint: 'W0 + γ·B·A, with (BA)[i][j] = Σ_k B[i][k]·A[k][j]', run: (m, t) => {
      const L = layer(t, 3);
      const merged = (m.mergeWeight as (...a: unknown[]) => M)(L.W0, L.A, L.B, L.scaling);
      flat(merged, 'mergeWeight', t);
      const viaMerged = L.x.map((row) => merged.map((w) => w.reduce((s, v, j) => s + v * row[j], 0)));
      t.allClose(viaMerged.flat(), L.ref.flat(), 1e-4, 'x · mergedᵀ vs the unmerged LoRA layer');
    } },
  ],
} satisfies Exercise;
