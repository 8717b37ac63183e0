/**
 * The grader: every solution scores 100 %, no starter does (npm run grade -- --all), and a learner's broken file —
 * an infinite loop, a throw at load time, a type error, a missing export — gives a clear report, never a hang. A
 * cheating or hostile file (test/fixtures/cheats) is refused or scores 0 and leaves no file, process or memory behind,
 * both through the whole grader and through the sandbox alone (the import check skipped).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ADDRESS_SPACE_MB, grade as gradeFile, type GradeResult } from '../../exercises/grader/grade.mjs';
import { checkImports } from '../../exercises/grader/imports.mjs';
import { checkData, encode, frame, FrameReader, placeRefs } from '../../exercises/grader/wire.mjs';

const root = join(import.meta.dirname, '../..');
const GRADE = join(root, 'exercises/grader/grade.mjs');
const grade = (args: string[], env: Record<string, string> = {}) => spawnSync(process.execPath, [GRADE, ...args], { encoding: 'utf8', cwd: root, env: { ...process.env, ...env }, timeout: 900_000 });
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
  }, 900_000);

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

// --- what a graded file can and cannot do ---------------------------------------------------------------------------

const CHEATS = join(root, 'test/fixtures/cheats');
const gradeTemps = () => new Set(readdirSync(tmpdir()).filter((d) => d.startsWith('loralab-grade-')));
/** Process ids whose process group is `pgid` (from /proc/<pid>/stat, field 5). */
function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) === pgid) out.push(Number(d));
    } catch {} // gone meanwhile
  }
  return out;
}
const running = (marker: string) => readdirSync('/proc').filter((x) => /^\d+$/.test(x)).filter((d) => {
  try {
    return readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ').includes(marker);
  } catch {
    return false;
  }
});
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
/** Grades a fixture and checks that the grading left no process, no process-group member and no folder behind. */
function gradeCheat(file: string, slug: string, opts: { skipImportCheck?: boolean } = {}): GradeResult & { text: string } {
  const before = gradeTemps();
  const r = gradeFile(slug, join(CHEATS, file), opts);
  if (r.sandboxPid !== null) {
    expect(alive(r.sandboxPid)).toBe(false);
    expect(groupMembers(r.sandboxPid)).toEqual([]);
  }
  expect([...gradeTemps()].filter((d) => !before.has(d))).toEqual([]);
  expect(existsSync(join(root, 'exercises/.grade', `${slug}-${process.pid}`))).toBe(false);
  return { ...r, text: r.lines.join('\n') };
}

describe('cheating files are refused or score 0, and leave nothing behind', () => {
  const NF4 = '06-nf4-blockwise';
  const COUNT = '04-lora-param-count';
  const T = 180_000;

  it('patching JSON.stringify: frozen in the learner process, and the report is not made there', () => {
    for (const skipImportCheck of [false, true]) {
      const r = gradeCheat('patch-json-stringify.ts', NF4, { skipImportCheck });
      expect(r.score).toBe(0);
      expect(r.text).toMatch(/threw an error while loading[\s\S]*Cannot assign to read only property 'stringify'/);
    }
  }, T);

  it("rewriting process.stdout.write: the learner's output is shown, never parsed", () => {
    const r = gradeCheat('rewrite-stdout.ts', NF4);
    expect(r.score).toBe(0);
    expect(r.results.every((x) => !x.ok)).toBe(true);
    expect(r.text).toMatch(/your output \(shown, not graded\):\n\s+\{"type":"result","name":"one hand-made block of 32","ok":true\}/);
  }, T);

  it('printing result events and exiting: the events are output, the exit is reported', () => {
    const r = gradeCheat('fake-result-events.ts', NF4);
    expect(r.score).toBe(0);
    expect(r.text).toMatch(/✗ your file ended its process while loading, before any check could run \(exit 0\)/);
    expect(r.text).toMatch(/your output[\s\S]*"type":"done"/);
  }, T);

  it('an ESM loader hook: node:module is refused, and in the sandbox the hook cannot start (no workers)', () => {
    expect(gradeCheat('loader-hook.ts', NF4).text).toMatch(/✗ your file is not graded:\n\s+it imports 'node:module': a graded file may import only from loralab and @tensorflow\/tfjs/);
    const s = gradeCheat('loader-hook.ts', NF4, { skipImportCheck: true });
    expect(s.score).toBe(0);
    expect(s.text).toMatch(/threw an error while loading[\s\S]*Access to this API has been restricted/);
  }, T);

  it('Math.abs = () => 0: frozen, and the checks compare in their own process', () => {
    const r = gradeCheat('math-abs.ts', COUNT);
    expect(r.score).toBe(0);
    expect(r.text).toMatch(/Cannot assign to read only property 'abs'/);
  }, T);

  it('zeroing the input array: the learner gets a copy, the reference is computed on the original', () => {
    const r = gradeCheat('zero-input.ts', NF4);
    expect(r.score).toBe(0);
    expect(r.text).toMatch(/absmax values differ at element 0: got 0, expected 0\.984375/);
  }, T);

  it("reading the solution: node:fs and computed import() are refused, and in the sandbox the read is denied", () => {
    const r = gradeCheat('read-solution.ts', NF4);
    expect(r.text).toMatch(/it imports 'node:fs'[\s\S]*it calls import\(\) with a module name computed at run time/);
    expect(r.score).toBe(0);
    const s = gradeCheat('read-solution.ts', NF4, { skipImportCheck: true });
    expect(s.score).toBe(0);
    expect(s.text).toMatch(/could not read \S*exercises\/06-nf4-blockwise\/solution\.ts: ERR_ACCESS_DENIED/);
    expect(s.text).not.toMatch(/read the solution at/);
  }, T);

  it("calling the library's own reference: the import is refused with a message", () => {
    const r = gradeCheat('library-reference.ts', NF4);
    expect(r.sandboxPid).toBeNull();
    expect(r.text).toMatch(/✗ your file is not graded:\n\s+it imports quantize4bit from 'loralab\/quant', which this exercise asks you to write yourself\n\nscore: 0\/10/);
  }, T);

  it('writing outside the exercise: refused, denied in the sandbox, and no file appears', () => {
    const targets = ['/tmp/loralab-cheat-wrote-this', join(root, 'exercises/cheat-wrote-this')];
    for (const f of targets) rmSync(f, { force: true });
    expect(gradeCheat('write-outside.ts', COUNT).text).toMatch(/it imports 'node:fs'/);
    const s = gradeCheat('write-outside.ts', COUNT, { skipImportCheck: true });
    expect(s.score).toBe(0);
    expect(s.text.match(/could not write \S+: ERR_ACCESS_DENIED/g)).toHaveLength(2);
    for (const f of targets) expect(existsSync(f)).toBe(false);
  }, T);

  it('reading /etc/passwd and running id: denied in the sandbox', () => {
    expect(gradeCheat('read-passwd.ts', COUNT).text).toMatch(/it imports 'node:fs'/);
    const p = gradeCheat('read-passwd.ts', COUNT, { skipImportCheck: true });
    expect(p.text).toMatch(/could not read \/etc\/passwd: ERR_ACCESS_DENIED/);
    expect(p.text).not.toMatch(/root:/);
    expect(gradeCheat('run-id.ts', COUNT).text).toMatch(/it imports 'node:child_process'/);
    const id = gradeCheat('run-id.ts', COUNT, { skipImportCheck: true });
    expect(id.text).toMatch(/could not run id: ERR_ACCESS_DENIED/);
    expect(id.text).not.toMatch(/uid=/);
  }, T);

  it('leaving a detached process: no process can be started, and none is left', () => {
    const s = gradeCheat('detached-process.ts', COUNT, { skipImportCheck: true });
    expect(s.text).toMatch(/could not start a process: ERR_ACCESS_DENIED/);
    expect(running('sleep 31337')).toEqual([]);
  }, T);

  it(`holding 2.6 GB of ArrayBuffers: the ${ADDRESS_SPACE_MB} MB address-space limit stops it`, () => {
    const r = gradeCheat('arraybuffers.ts', COUNT);
    expect(r.score).toBe(0);
    expect(r.text).toMatch(/threw an error while loading[\s\S]*RangeError: Array buffer allocation failed/);
    const held = Math.max(...[...r.text.matchAll(/holding (\d+) MB/g)].map((m) => Number(m[1])));
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThan(ADDRESS_SPACE_MB);
  }, T);

  it('filling the heap during a check: the process dies, the check says so', () => {
    const r = gradeCheat('heap-during-check.ts', COUNT);
    expect(r.score).toBe(0);
    expect(r.text).toMatch(/the process died during this check \(signal SIGABRT: it ran out of the 512 MB heap limit\)[\s\S]*not run: the process stopped before this check/);
  }, T);

  it('opening network connections: no route out of the namespace', () => {
    const s = gradeCheat('network.ts', COUNT, { skipImportCheck: true });
    expect(s.layers).toContain('no network (namespace)');
    expect(s.text).toMatch(/could not connect to registry\.npmjs\.org:443/);
    expect(s.text).toMatch(/could not connect to 1\.1\.1\.1:53/);
    expect(s.text).not.toMatch(/connected to/);
  }, T);

  it('a forged reply on the channel: the nonce does not match, grading stops at 0', () => {
    const s = gradeCheat('forged-reply.ts', COUNT, { skipImportCheck: true });
    expect(s.score).toBe(0);
    expect(s.text).toMatch(/the grader could not read your code's answer \(a reply that does not answer the request\)/);
  }, T);

  it('the sandbox has every layer on this machine', () => {
    const r = gradeCheat('zero-input.ts', NF4);
    expect(r.layers).toEqual(expect.arrayContaining(['permission model', 'frozen intrinsics', 'no code from strings']));
    expect(r.layers.some((l) => l.startsWith('address-space limit'))).toBe(true);
  }, T);
});

describe('the time limit cannot be caught', () => {
  it('a check that expects a throw is not credited when the learner loops instead', () => {
    const f = learnerFile(`export const trainingFlops = (n: number, d: number) => 6 * n * d;
export const inferenceFlops = (n: number, d: number) => 2 * n * d;
export function trainingHours(n: number, d: number, peak: number, u: number): number {
  if (u <= 0 || u > 1) for (;;) { void n; }
  return (6 * n * d) / (peak * u) / 3600;
}
`);
    const before = gradeTemps();
    const r = spawnSync(process.execPath, [GRADE, '01-training-flops', '--file', f], { encoding: 'utf8', cwd: root, env: { ...process.env, LORALAB_GRADE_TIMEOUT_S: '4' }, timeout: 240_000 });
    expect(r.stdout).toMatch(/✓ training time in hours at a given utilization \(3\/3\)/);
    expect(r.stdout).toMatch(/✗ a utilization outside \(0, 1\] is refused \(0\/1\)\n\s+did not finish within the 4 s limit/);
    expect(r.stdout).toMatch(/score: 7\/8/);
    expect([...gradeTemps()].filter((d) => !before.has(d))).toEqual([]);
  }, 240_000);
});

describe('the import check', () => {
  const check = (js: string, forbiddenImports = ['quantize4bit'], forbiddenModules: string[] = []) => checkImports(js, { root, forbiddenImports, forbiddenModules });
  it('allows loralab and tfjs by name, rewriting them to the library files', () => {
    const r = check("import { NF4_CODE } from 'loralab/quant';\nimport * as tf from '@tensorflow/tfjs';\nexport const x = [NF4_CODE, tf];\n");
    expect(r.refusals).toEqual([]);
    expect(r.library).toBe(true);
    expect(r.code).toContain(`from "file://${root}/lib/dist/quant/index.js"`);
    expect(r.code).not.toContain("'loralab/quant'");
    expect(check('export const x = 1;\n').library).toBe(false);
  });
  it('refuses a forbidden name from any module, a whole module at once, other files, builtins and computed import()', () => {
    expect(check("import { quantize4bit as q } from 'loralab';\nexport const y = q;").refusals).toEqual(["it imports quantize4bit from 'loralab', which this exercise asks you to write yourself"]);
    expect(check("import * as Q from 'loralab/quant';\nexport const y = Q;").refusals[0]).toMatch(/^it imports all of 'loralab\/quant' at once .*import the names you use \(this exercise asks you to write quantize4bit yourself\)/);
    expect(check("export * from 'loralab/quant';").refusals[0]).toMatch(/imports all of 'loralab\/quant' at once/);
    expect(check("export { quantize4bit } from 'loralab/quant';").refusals[0]).toMatch(/imports quantize4bit from/);
    expect(check("export const m = import('loralab/quant');").refusals[0]).toMatch(/imports all of 'loralab\/quant' at once/);
    expect(check("const n = 'loralab/quant';\nexport const m = import(n);").refusals).toEqual(['it calls import() with a module name computed at run time']);
    expect(check("import { a } from './helper.js';\nexport const b = a;").refusals[0]).toMatch(/cannot import other files/);
    expect(check("import { readFileSync } from 'node:fs';\nexport const b = readFileSync;").refusals[0]).toMatch(/may import only from loralab and @tensorflow\/tfjs/);
    expect(check("import { NF4_CODE } from 'loralab/quant';\nexport const b = NF4_CODE;", [], ['loralab/quant']).refusals).toEqual(["it imports 'loralab/quant', which this exercise does not allow"]);
    expect(check("import { x } from 'loralab/nope';\nexport const b = x;").refusals[0]).toMatch(/'loralab\/nope': a graded file may import only/);
  });
});

describe('the wire', () => {
  it('frames round-trip, and an oversized frame is refused', () => {
    const r = new FrameReader();
    const f = frame({ a: new Float32Array([1, 2]) });
    expect(r.push(f.subarray(0, 3))).toEqual([]);
    expect(r.push(f.subarray(3))).toHaveLength(1);
    const big = Buffer.alloc(4);
    big.writeUInt32BE(0xffffffff);
    expect(() => new FrameReader().push(big)).toThrow(/over the 64 MB limit/);
  });
  it('sends plain data as data and everything else as handles; received data must be plain', () => {
    class Layer { w = 1; }
    const layer = new Layer();
    const fn = () => 1;
    const ids = new Map<object, number>([[layer, 0], [fn, 1]]);
    const { data, refs } = encode({ x: [1, 'a', null], f: fn, l: layer, t: new Uint8Array(2) }, (v) => ids.get(v));
    expect(data).toEqual({ x: [1, 'a', null], f: null, l: null, t: new Uint8Array(2) });
    expect(refs).toEqual([[['f'], 1, 'function'], [['l'], 0, 'object']]);
    const self: Record<string, unknown> = {};
    self.self = self;
    expect(() => encode(self, () => undefined)).toThrow(/contains itself/);
    expect(() => checkData({ m: new Map() })).toThrow(/the value at \.m is a Map/);
    expect(() => checkData([new Date()])).toThrow(/\[0\] is a Date/);
    const placed = placeRefs(JSON.parse('{"__proto__": null}'), [[['__proto__'], 3, 'object']], (h) => `stand-in ${h}`) as Record<string, unknown>;
    expect(Object.getPrototypeOf(placed)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(placed, '__proto__')?.value).toBe('stand-in 3');
    expect(() => placeRefs({ a: 1 }, [[['a'], 0, 'object']], () => 0)).toThrow(/missing place/);
  });
});
