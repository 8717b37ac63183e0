/**
 * LoRA Lab's one error style. Everything the library throws is a `LoraLabError`: a program reads `file`, `field` and
 * `expected`; a person reads one line built from them, always in this order (a part that does not apply is left out):
 *
 *   <file>: <field>: <what is wrong>; expected <expected>
 *
 * `file` is where the bad value came from (a path, or the API it was handed to when it came from code); `field` is the
 * tensor, key, option or argument. Each folder has its own subclass (`SafetensorsError`, `PeftConfigError`, …; and
 * `ArgumentError`, `ShapeError` for any folder) so that a program can tell them apart; `InternalError` is the one for
 * LoRA Lab's own bugs. A subclass is three lines on purpose (`class X extends LoraLabError { override name = 'X' }`):
 * a real class, so that `instanceof` and the name in a stack trace work, with nothing else to learn.
 */

export interface ErrorContext {
  /** The file (or, for a value handed over in code, the function or class) the bad value came from. */
  file?: string;
  /** The tensor, key, option or argument that is wrong. */
  field?: string;
  /** What would have been accepted, in words. */
  expected?: string;
  /** The error this one explains (kept as `Error.cause`). */
  cause?: unknown;
}

/** `<file>: <field>: <problem>; expected <expected>`, without the parts `ctx` does not give. */
export function errorMessage(problem: string, ctx: ErrorContext = {}): string {
  const head = [ctx.file, ctx.field, problem].filter((p) => p !== undefined && p !== '').join(': ');
  return ctx.expected === undefined ? head : `${head}; expected ${ctx.expected}`;
}

export class LoraLabError extends Error {
  override name = 'LoraLabError';
  readonly file?: string;
  readonly field?: string;
  readonly expected?: string;

  constructor(problem: string, ctx: ErrorContext = {}) {
    super(errorMessage(problem, ctx), ctx.cause === undefined ? undefined : { cause: ctx.cause });
    this.file = ctx.file;
    this.field = ctx.field;
    this.expected = ctx.expected;
  }
}

/** A value handed to a public function or class that it cannot take: out of range, the wrong kind, a wrong use. */
export class ArgumentError extends LoraLabError {
  override name = 'ArgumentError';
}

/** A tensor, array or argument whose shape or length does not fit what the function computes on. */
export class ShapeError extends LoraLabError {
  override name = 'ShapeError';
}

/** A broken invariant: only a bug in LoRA Lab itself can raise it, never a caller's input. */
export class InternalError extends LoraLabError {
  override name = 'InternalError';
  constructor(what: string) {
    super(`${what} (a LoRA Lab bug, not a problem with your input: please report it)`);
  }
}

/** Throws an InternalError saying `what` when `cond` is false. */
export function assertInternal(cond: unknown, what: string): asserts cond {
  if (!cond) throw new InternalError(what);
}

/** `[a, b, c]` for messages about shapes. */
export const shapeText = (shape: readonly number[]): string => `[${shape.join(', ')}]`;
