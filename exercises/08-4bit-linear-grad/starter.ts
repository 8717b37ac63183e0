import { dequantize4bit, type QuantState4bit } from 'loralab/quant';

export function linear4bitForward(x: Float32Array, batch: number, state: QuantState4bit): Float32Array {
  const [out, inF] = state.shape;
  const W = dequantize4bit(state);
  const y = new Float32Array(batch * out);
  for (let b = 0; b < batch; b++) for (let o = 0; o < out; o++) {
    let s = 0;
    for (let i = 0; i < inF; i++) s += x[b * inF + i] * W[o * inF + i];
    y[b * out + o] = s;
  }
  return y;
}

export function linear4bitBackward(gradY: Float32Array, batch: number, state: QuantState4bit): Float32Array {
  const [, inF] = state.shape;
  void gradY;
  return new Float32Array(batch * inF); // TODO: ∂L/∂x = gradY · W
}
