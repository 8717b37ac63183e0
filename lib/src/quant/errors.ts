/** An input that quantization cannot represent: a bad blocksize, a non-finite value, a size mismatch. */
import { LoraLabError } from '../util/errors.js';
export class QuantizationError extends LoraLabError {
  override name = 'QuantizationError';
}
