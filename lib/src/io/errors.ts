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
  | 'MisalignedSlice'
  | 'TensorInvalidInfo'
  | 'MetadataIncompleteBuffer'
  | 'TensorNotFound'
  | 'InvalidTensorView'
  | 'IoError';

export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
  constructor(
    readonly code: SafetensorsErrorCode,
    readonly file: string,
    detail: string,
    readonly tensor?: string,
  ) {
    super(`${file}: ${code}: ${detail}`);
  }
}
