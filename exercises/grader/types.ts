/**
 * What an exercise's `checks.ts` exports (default export). The grader type-checks the learner's file, checks its
 * imports, loads it in a sandboxed process of its own with a time and memory limit, verifies the named exports
 * exist, and runs each check — in another process — with a stand-in for the learner's module and the helpers in
 * `t`. Calling a function of the learner's module sends it copies of the arguments and returns a copy of its result
 * (plain data: numbers, strings, arrays, typed arrays, plain objects; a class instance comes back as a remote object
 * whose properties are fetched when read). A check passes if it returns; it fails by throwing (through `t.fail` or
 * the helpers, whose messages are written for the learner).
 */
export interface Helpers {
  /** Fail with a message for the learner. */
  fail(message: string): never;
  /** |actual − expected| ≤ tol (absolute), with `what` naming the quantity in the message. */
  close(actual: unknown, expected: number, tol: number, what: string): void;
  /** Relative tolerance: |actual − expected| ≤ rtol·|expected|. */
  closeRel(actual: unknown, expected: number, rtol: number, what: string): void;
  /** Element-wise closeness of two arrays; the message names the first element that differs and both values. */
  allClose(actual: unknown, expected: ArrayLike<number>, tol: number, what: string): void;
  /** Exact equality of integer arrays (codes, counts), naming the first difference. */
  arrayEqual(actual: unknown, expected: ArrayLike<number>, what: string, explain?: (i: number, got: number, want: number) => string): void;
  /** Deterministic pseudo-random numbers for test inputs. */
  rng(seed: number): { uniform(): number; normal(): number };
}

export interface Check {
  name: string;
  points: number;
  /** Shown when the check fails. */
  hint: string;
  run(learner: Record<string, unknown>, t: Helpers): void | Promise<void>;
}

export interface Exercise {
  title: string;
  /** Names the learner's file must export. */
  exports: string[];
  /** What to read after this exercise (notebook, paper section). */
  readNext: string;
  /**
   * Library exports the exercise asks the learner to write (or that compute its answer): a file that imports one of
   * them from any `loralab` module, or imports a whole `loralab` module at once, is not graded.
   */
  forbiddenImports?: string[];
  /** Module specifiers a graded file may not import at all (e.g. 'loralab/quant'). */
  forbiddenModules?: string[];
  /** Wall-clock limit for loading and checking, seconds (default 20). */
  timeoutSeconds?: number;
  checks: Check[];
}
