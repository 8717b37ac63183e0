/**
 * LoRA Lab's 4-bit defaults, the QLoRA recipe, in one place: NF4 (bitsandbytes' `quantize_4bit` itself defaults to
 * fp4; QLoRA and PEFT's QLoRA examples pass nf4), blocksize 64 (bitsandbytes' default), no double quantization
 * (`bnb_4bit_use_double_quant=False`, transformers' default), weights and compute in bfloat16 (the QLoRA recipe).
 * Every entry point (quantize4bit, quantizeFile, Linear4bit, loadGemma) fills its options from `bnb4bitOptions`.
 */
import type { FloatDType } from '../numerics/dtype.js';
import { checkBlocksize } from './blockwise4.js';
import type { QuantType } from './codebooks.js';

export interface Bnb4bitOptions {
  quantType: QuantType;
  blocksize: number;
  doubleQuant: boolean;
  /** dtype the weight is rounded to before quantizing and dequantized to (`bnb_4bit_compute_dtype`). */
  computeDtype: FloatDType;
}

export const BNB_4BIT_DEFAULTS = Object.freeze({
  quantType: 'nf4',
  blocksize: 64,
  doubleQuant: false,
  computeDtype: 'bfloat16',
} as const satisfies Bnb4bitOptions);

/** The options with LoRA Lab's defaults filled in, the blocksize checked once here (the boundary). */
export function bnb4bitOptions(opts: Partial<Bnb4bitOptions> = {}): Bnb4bitOptions {
  const o: Bnb4bitOptions = {
    quantType: opts.quantType ?? BNB_4BIT_DEFAULTS.quantType,
    blocksize: opts.blocksize ?? BNB_4BIT_DEFAULTS.blocksize,
    doubleQuant: opts.doubleQuant ?? BNB_4BIT_DEFAULTS.doubleQuant,
    computeDtype: opts.computeDtype ?? BNB_4BIT_DEFAULTS.computeDtype,
  };
  checkBlocksize(o.blocksize);
  return o;
}
