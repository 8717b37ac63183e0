// A 4-bit linear layer (NF4, double quantization, bf16 compute) against the dense float32 layer of the same shape,
// forward and forward + backward (the input gradient: the base weight is frozen in LoRA and QLoRA), at Gemma-2B's
// shapes, side by side in one process. The 4-bit layer dequantizes its weight on every call (and again in backward);
// the ratio says what that costs. The time of the dequantize alone is reported beside it.
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../lib/dist/backend/index.js';
import { Linear, Linear4bit } from '../lib/dist/layers/index.js';
import { dequantizeKernelName, dequantizeToTensor } from '../lib/dist/backend/index.js';
import { Rng } from '../lib/dist/util/rng.js';
import { timeRoundRobin } from './timing.mjs';

function layerCase(outF, inF, tokens, rounds) {
  const w = new Rng(outF + inF).normalArray(outF * inF, 0.02);
  const dense = new Linear(inF, outF, { weight: w, dtype: 'bfloat16', trainable: false });
  const q = Linear4bit.fromWeight(w, outF, inF, { quantType: 'nf4', blocksize: 64, doubleQuant: true, computeDtype: 'bfloat16' });
  const x = tf.tensor2d(new Rng(1).normalArray(tokens * inF, 1), [tokens, inF]);
  const dy = tf.tensor2d(new Rng(2).normalArray(tokens * outF, 1), [tokens, outF]);
  // forward, and forward + backward for the input gradient; each result is read back so the work is done (outside
  // tidy: tidy walks a returned typed array element by element)
  const readBack = (make) => () => {
    const t = tf.tidy(make);
    t.dataSync();
    t.dispose();
  };
  const fwd = (layer) => readBack(() => layer.forward(x));
  const fwdBwd = (layer) => readBack(() => tf.grad((xi) => layer.forward(xi).mul(dy).sum())(x));
  const s = timeRoundRobin({
    denseForward: fwd(dense),
    nf4Forward: fwd(q),
    denseForwardBackward: fwdBwd(dense),
    nf4ForwardBackward: fwdBwd(q),
    dequantize: () => dequantizeToTensor(q.state, 'bfloat16').dispose(),
  }, rounds);
  tf.dispose([x, dy]);
  dense.dispose();
  q.dispose();
  const flops = 2 * tokens * inF * outF;
  return {
    shape: [outF, inF],
    tokens,
    seconds: s,
    ratios: {
      forward: s.nf4Forward / s.denseForward,
      forwardBackward: s.nf4ForwardBackward / s.denseForwardBackward,
      dequantizeShareOfNf4ForwardBackward: (2 * s.dequantize) / s.nf4ForwardBackward,
    },
    denseForwardGflops: flops / s.denseForward / 1e9,
    dequantizeElementsPerSecond: (outF * inF) / s.dequantize,
  };
}

export async function run({ tokens = 128, rounds = 7 } = {}) {
  const backend = await initBackend({ log: false });
  const cases = [[2048, 2048], [16384, 2048], [2048, 16384]].map(([o, i]) => layerCase(o, i, tokens, rounds));
  return {
    name: 'linear4bit',
    what: `NF4 (blocksize 64, double quantization, bf16 compute) linear layer vs the dense layer with the same bf16 values, ${tokens} tokens; ratio = 4-bit time / dense time`,
    backend: backend.name,
    dequantizeKernel: dequantizeKernelName(),
    cases,
  };
}
