/**
 * Errors of the safetensors reader, one code per rule of the reference reader (`safetensors/src/tensor.rs`,
 * `SafeTensorError`), each with the file, the tensor or field when there is one, and what was expected.
 */
import { LoraLabError, type ErrorContext } from '../util/errors.js';
export type SafetensorsErrorCode =
  | 'HeaderTooSmall'
  | 'HeaderTooLarge'
  | 'InvalidHeaderLength'
  | 'InvalidHeader'
  | 'InvalidHeaderStart'
  | 'InvalidHeaderDeserialization'
  | 'InvalidOffset'
  | 'MisalignedSlice'
  | 'ValidationOverflow'
  | 'TensorInvalidInfo'
  | 'MetadataIncompleteBuffer'
  | 'TensorNotFound'
  | 'InvalidTensorView'
  | 'IoError'
  /** LoRA Lab's own bounds on a header (tensor count, metadata keys, dimensions); the reference has none. */
  | 'LimitExceeded';

/**
 * `<file>: <code>: <detail>` (the detail names the tensor or header field), with `file` and `field` (the tensor, when
 * there is one) for programs; a file that is not safetensors at all says so in words instead (`notSafetensors`).
 */
export class SafetensorsError extends LoraLabError {
  override name = 'SafetensorsError';
  declare readonly file: string;
  declare readonly field?: string;
  constructor(
    readonly code: SafetensorsErrorCode,
    file: string,
    detail: string,
    readonly tensor?: string,
    sentence?: string,
  ) {
    super(sentence ?? `${code}: ${detail}`, sentence === undefined ? { file } : {});
    this.file = file;
    this.field = tensor;
  }

  /**
   * The file does not have safetensors' layout at all (its first 8 bytes are not a plausible header length): say so
   * and why, in words; `code` keeps the reference's name for programs.
   */
  static notSafetensors(code: SafetensorsErrorCode, file: string, why: string): SafetensorsError {
    return new SafetensorsError(code, file, why, undefined, `${file} is not a safetensors file: ${why} ${FORMAT_NOTE}`);
  }
}

/** A file that cannot be read as bytes: not a regular file (`code` EISDIR or ENOTREG, as Node names them), closed, short. */
export class FileReadError extends LoraLabError {
  override name = 'FileReadError';
  constructor(problem: string, ctx: ErrorContext, readonly code?: 'EISDIR' | 'ENOTREG') {
    super(problem, ctx);
  }
}

/** Tensors the safetensors writer cannot write as asked: a reserved name, a size unlike its spec, one written twice or never. */
export class SafetensorsWriteError extends LoraLabError {
  override name = 'SafetensorsWriteError';
}

const FORMAT_NOTE = '(a safetensors file starts with an 8-byte little-endian header length, then a JSON header)';
