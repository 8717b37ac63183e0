import { LoraLabError } from '../util/errors.js';

/** The WebGPU session or a tab's training run cannot do what it was asked: no adapter, a missing file, bad settings. */
export class WebGpuError extends LoraLabError {
  override name = 'WebGpuError';
}
