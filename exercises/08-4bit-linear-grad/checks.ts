import * as tf from '@tensorflow/tfjs';
import { quantize4bit, dequantize4bit, type QuantState4bit } from 'loralab/quant';
import { Linear4bit } from 'loralab/layers';
import type { Exercise, Helpers } from '../grader/types.js';

type Fwd = (x: Float32Array, b: number, s: QuantState4bit) => Float32Array;
const OUT = 24, IN = 64, B = 3;
function setup(t: Helpers, seed: number) {
  const g = t.rng(seed);
  const W = Float32Array.from({ length: OUT * IN }, () => 0.05 * g.normal());
  const { state } = quantize4bit(W, { blocksize: 64, shape: [OUT, IN], doubleQuant: true });
  const x = Float32Array.from({ length: B * IN }, () => g.normal());
  const gy = Float32Array.from({ length: B * OUT }, () => g.normal());
  return { state, x, gy };
}

export default {
  title: 'The gradient of a 4-bit linear layer',
  exports: ['linear4bitForward', 'linear4bitBackward'],
  forbiddenImports: ['Linear4bit', 'linearApply', 'matmulXWt'],
  readNext: 'notebooks/06-qlora.ipynb (bf16 dequantized compute); lib/src/layers/linear.ts (Linear4bit)',
  checks: [
    { name: 'forward: y = x Wᵀ with the dequantized weight', points: 2, hint: 'y[b][o] = Σ_i x[b][i]·W[o][i]', run: (m, t) => {
      const { state, x } = setup(t, 1);
      const W = dequantize4bit(state);
      const want = new Float64Array(B * OUT);
      for (let b = 0; b < B; b++) for (let o = 0; o < OUT; o++) for (let i = 0; i < IN; i++) want[b * OUT + o] += x[b * IN + i] * W[o * IN + i];
      t.allClose((m.linear4bitForward as Fwd)(x, B, state), want, 1e-4, 'y');
    } },
    { name: 'backward matches autodiff through Linear4bit', points: 5, hint: '∂L/∂x[b][i] = Σ_o gradY[b][o]·W[o][i]; the result is [batch, in]', run: (m, t) => {
      const { state, x, gy } = setup(t, 2);
      const layer = new Linear4bit(state, { computeDtype: 'float32' });
      const xt = tf.tensor2d(x, [B, IN]);
      const gx = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(layer.forward(xi), tf.tensor2d(gy, [B, OUT]))))(xt);
      t.allClose((m.linear4bitBackward as Fwd)(gy, B, state), gx.dataSync(), 1e-4, '∂L/∂x');
    } },
    { name: 'backward agrees with finite differences of your forward', points: 3, hint: 'if forward is right and backward is its transpose, they agree', run: (m, t) => {
      const { state, x, gy } = setup(t, 3);
      const f = m.linear4bitForward as Fwd;
      const loss = (xx: Float32Array) => f(xx, B, state).reduce((s, y, k) => s + y * gy[k], 0);
      const grad = (m.linear4bitBackward as Fwd)(gy, B, state);
      for (const k of [0, 17, B * IN - 1]) {
        const h = 1e-2, xp = x.slice(), xm = x.slice();
        xp[k] += h; xm[k] -= h;
        const fd = (loss(xp) - loss(xm)) / (2 * h);
        t.closeRel(grad[k], fd, 1e-2, `∂L/∂x at element ${k} (finite difference ${fd.toPrecision(5)})`);
      }
    } },
  ],
} satisfies Exercise;
