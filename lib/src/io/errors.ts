/**
 * Errors of the safetensors reader, one code per rule of the reference reader (`safetensors/src/tensor.rs`,
 * `SafeTensorError`), each with the file, the tensor or field when there is one, and what was expected.
 */
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

export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
  constructor(
    readonly code: SafetensorsErrorCode,
    readonly file: string,
    detail: string,
    readonly tensor?: string,
    message = `${file}: ${code}: ${detail}`,
  ) {
    super(message);
  }

  /**
   * The file does not have safetensors' layout at all (its first 8 bytes are not a plausible header length): say so
   * and why, in words; `code` keeps the reference's name for programs.
   */
  static notSafetensors(code: SafetensorsErrorCode, file: string, why: string): SafetensorsError {
    return new SafetensorsError(code, file, why, undefined, `${file} is not a safetensors file: ${why} ${FORMAT_NOTE}`);
  }
}

const FORMAT_NOTE = '(a safetensors file starts with an 8-byte little-endian header length, then a JSON header)';
