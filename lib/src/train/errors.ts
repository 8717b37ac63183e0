/**
 * The trainer's errors. Each is the same three-line subclass of LoraLabError on purpose (as in util/errors.ts): the
 * class is the kind of failure a program catches; the message, file and field say which.
 */
import { LoraLabError } from '../util/errors.js';

/** Training data that cannot be used: a missing or malformed JSONL file, a record without a field, a batch with no label. */
export class DataError extends LoraLabError {
  override name = 'DataError';
}

/** The loss went NaN or ±Inf; the message names the step and the last good checkpoint. */
export class TrainingDivergedError extends LoraLabError {
  override name = 'TrainingDivergedError';
}

/** A checkpoint (trainer_state.json, its weights or optimizer state, the `latest` pointer) that cannot be resumed from. */
export class CheckpointStateError extends LoraLabError {
  override name = 'CheckpointStateError';
}
