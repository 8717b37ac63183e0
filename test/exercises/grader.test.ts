/**
 * The grader: every solution scores 100 %, no starter does (npm run grade -- --all), and a learner's broken file —
 * an infinite loop, a throw at load time, a type error, a missing export — gives a clear report, never a hang.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const GRADE = join(root, 'exercises/grader/grade.mjs');
const grade = (args: string[], env: Record<string, string> = {}) => spawnSync(process.execPath, [GRADE, ...args], { encoding: 'utf8', cwd: root, env: { ...process.env, ...env }, timeout: 240_000 });
const learnerFile = (body: string) => {
  const f = join(mkdtempSync(join(tmpdir(), 'loralab-learner-')), 'mine.ts');
  writeFileSync(f, body);
  return f;
};
const SIG = 'export function loraParamCount(cfg: { hiddenSize: number }, r: number, targetModules: string[]): number';

describe('npm run grade', () => {
  it('--all: every solution scores 100 %, no starter does', () => {
    const r = grade(['--all']);
    expect(r.stdout).toMatch(/every solution scores 100 %, no starter does/);
    expect((r.stdout.match(/^✓ /gm) ?? []).length).toBeGreaterThanOrEqual(16);
    expect(r.status).toBe(0);
  }, 240_000);

  it('scores the starter by default, with points per check, hints and what to read next', () => {
    const r = grade(['04-lora-param-count']);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/04-lora-param-count — Counting LoRA parameters/);
    expect(r.stdout).toMatch(/✗ .*\(0\/\d\)\n\s+LoRA parameters: got \d+, expected \d+/);
    expect(r.stdout).toMatch(/hint: /);
    expect(r.stdout).toMatch(/score: \d+\/10 \(\d+ %\)\nread next: notebooks\/04-lora-mathematics\.ipynb/);
  });

  it('an infinite loop is stopped at the time limit and reported', () => {
    const r = grade(['04-lora-param-count', '--file', learnerFile(`${SIG} {\n  for (;;) { void cfg; }\n}\n`)], { LORALAB_GRADE_TIMEOUT_S: '3' });
    expect(r.stdout).toMatch(/did not finish within the 3 s limit \(an infinite loop/);
    expect(r.stdout).toMatch(/not run: an earlier check used up the time limit/);
    expect(r.stdout).toMatch(/score: 0\/10/);
  });

  it('an error thrown while loading, a type error and a missing export are reported in words', () => {
    const threw = grade(['04-lora-param-count', '--file', learnerFile(`throw new Error('boom at load');\n${SIG} { return r; }\n`)]);
    expect(threw.stdout).toMatch(/your file threw an error while loading[\s\S]*boom at load/);
    const typeErr = grade(['04-lora-param-count', '--file', learnerFile(`${SIG} { return 'many'; }\n`)]);
    expect(typeErr.stdout).toMatch(/does not type-check[\s\S]*line 1, column \d+: Type 'string' is not assignable to type 'number'/);
    const missing = grade(['04-lora-param-count', '--file', learnerFile('export const other = 1;\n')]);
    expect(missing.stdout).toMatch(/does not export 'loraParamCount'/);
    for (const r of [threw, typeErr, missing]) expect(r.stdout).toMatch(/score: 0\/10 \(0 %\)/);
  });

  it('a learner who solves it scores 100 % and exits 0; unknown exercises and files are clear errors', () => {
    const ok = grade(['05-adapter-params', '--file', join(root, 'exercises/05-adapter-params/solution.ts')]);
    expect(ok.stdout).toMatch(/score: 7\/7 \(100 %\)/);
    expect(ok.status).toBe(0);
    expect(grade(['99-nothing']).stderr).toMatch(/no exercise matches '99-nothing'/);
    expect(grade(['04']).stderr).toMatch(/'04' matches several exercises; name one:\n  04-lora-forward-merge\n  04-lora-param-count/);
    expect(grade(['05-adapter', '--file', '/nope/mine.ts']).stderr).toMatch(/\/nope\/mine\.ts: no such file/);
  });
});
