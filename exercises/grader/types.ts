/**
 * What an exercise's `checks.ts` exports (default export). The grader type-checks the learner's file, loads it in a
 * separate process with a time and memory limit, verifies the named exports exist, and runs each check with the
 * learner's module and the helpers in `t`. A check passes if it returns; it fails by throwing (through `t.fail` or
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
  /** Wall-clock limit for loading and checking, seconds (default 20). */
  timeoutSeconds?: number;
  checks: Check[];
}
