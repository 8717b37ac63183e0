import { dequantize4bit, type QuantState4bit } from 'loralab/quant';

/** y = x Wᵀ with W dequantized from the 4-bit state. */
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

/** ∂L/∂x = (∂L/∂y) W, dequantizing W again instead of keeping it from the forward pass; W itself gets no gradient. */
export function linear4bitBackward(gradY: Float32Array, batch: number, state: QuantState4bit): Float32Array {
  const [out, inF] = state.shape;
  const W = dequantize4bit(state);
  const gx = new Float32Array(batch * inF);
  for (let b = 0; b < batch; b++) for (let o = 0; o < out; o++) {
    const g = gradY[b * out + o];
    if (g === 0) continue;
    for (let i = 0; i < inF; i++) gx[b * inF + i] += g * W[o * inF + i];
  }
  return gx;
}
