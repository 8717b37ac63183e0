/** An input that quantization cannot represent: a bad blocksize, a non-finite value, a size mismatch. */
export class QuantizationError extends Error {
  override name = 'QuantizationError';
}
