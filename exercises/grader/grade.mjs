#!/usr/bin/env node
// LoRA Lab's grader (npm run grade).
//   npm run grade -- NN-slug [--file path/to/my.ts]   grade one exercise (default file: its starter.ts)
//   npm run grade -- --all                           every solution must score 100 %, no starter may
// The learner's file is type-checked, its imports checked (imports.mjs), compiled, and copied alone into a private
// folder. The checks run in a checker process (runner.mjs); the learner's module runs in a sandboxed process of its
// own (launch.mjs, sandbox.mjs) that the checker calls with copies of its inputs. The score is counted here from the
// checker's events alone; an infinite loop, a crash, running out of memory or a missing export becomes a report.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { checkImports } from './imports.mjs';
import { SANDBOX_FILES, sandboxCommand, sandboxPlan } from './launch.mjs';

const root = resolve(new URL('../..', import.meta.url).pathname);
const exercisesDir = join(root, 'exercises');
/** V8's heap in the learner's process, MB. */
export const HEAP_MB = 512;
/** The learner's whole address space, MB: Node itself takes about 0.7 GB of it; ArrayBuffers count. */
export const ADDRESS_SPACE_MB = 1536;
const OUTPUT_LINES = 20;

export function listExercises() {
  return readdirSync(exercisesDir).filter((d) => /^\d\d-/.test(d) && existsSync(join(exercisesDir, d, 'checks.ts'))).sort();
}

let program; // reused between files: the standard library and loralab's types are parsed once
function typeErrors(file) {
  const cfg = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  const options = { ...cfg.options, noEmit: true, incremental: false, composite: false };
  program = ts.createProgram({ rootNames: [file], options, oldProgram: program });
  const sf = program.getSourceFile(file);
  const diags = [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)];
  return diags.map((d) => {
    const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : null;
    return `${where ? `line ${where.line + 1}, column ${where.character + 1}: ` : ''}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

const transpile = (src, fileName) => ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 }, fileName }).outputText;

let plan; // probed once per grading process
function planFor() {
  plan ??= sandboxPlan({ readable: [...SANDBOX_FILES, join(root, 'lib/dist/index.js'), tmpdir()] });
  return plan;
}

/** Kill a process group that the checker could not (it was itself killed); no error if it is gone. */
function killGroup(pid) {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {}
}

function readEvents(stdout, nonce) {
  const out = [];
  for (const l of stdout.split('\n')) {
    try {
      const e = JSON.parse(l);
      if (e && e.nonce === nonce) out.push(e);
    } catch {}
  }
  return out;
}

const metas = new Map(); // slug → what grade() needs from its checks (loading them takes a process and TF.js)
function exerciseMeta(slug, checksMjs, checksTs) {
  if (!metas.has(slug)) {
    const meta = spawnSync(process.execPath, ['--input-type=module', '-e', `import(${JSON.stringify(checksMjs)}).then(m => console.log(JSON.stringify({ title: m.default.title, readNext: m.default.readNext, timeout: m.default.timeoutSeconds ?? 20, forbiddenImports: m.default.forbiddenImports ?? [], forbiddenModules: m.default.forbiddenModules ?? [], checks: m.default.checks.map(c => ({ name: c.name, points: c.points, hint: c.hint })) })))`], { encoding: 'utf8', cwd: root });
    if (meta.status !== 0) throw new Error(`${relative(root, checksTs)} failed to load:\n${meta.stderr}`);
    metas.set(slug, JSON.parse(meta.stdout.trim().split('\n').pop()));
  }
  return metas.get(slug);
}

/** Grade one file against one exercise; returns { score, max, lines, passedAll, results, sandboxPid, layers }. */
export function grade(slug, file, opts = {}) {
  const dir = join(exercisesDir, slug);
  const lines = [];
  const say = (s = '') => lines.push(s);
  const checksTs = join(dir, 'checks.ts');
  if (!existsSync(checksTs)) throw new Error(`no exercise '${slug}' (expected ${relative(root, checksTs)})`);
  if (!existsSync(file)) throw new Error(`${file}: no such file`);
  const work = join(exercisesDir, '.grade', `${slug}-${process.pid}`);
  mkdirSync(work, { recursive: true });
  let privateDir = null;
  let sandboxPid = null;
  try {
    writeFileSync(join(work, 'checks.mjs'), transpile(readFileSync(checksTs, 'utf8'), checksTs));
    const ex = exerciseMeta(slug, join(work, 'checks.mjs'), checksTs);
    const max = ex.checks.reduce((s, c) => s + c.points, 0);
    const limitS = Number(process.env.LORALAB_GRADE_TIMEOUT_S ?? ex.timeout);
    say(`${slug} — ${ex.title}`);
    say(`file: ${relative(process.cwd(), file) || file}`);
    say();
    let layers = [];
    const report = (score, results) => {
      say();
      say(`score: ${score}/${max} (${Math.round((100 * score) / max)} %)`);
      say(`read next: ${ex.readNext}`);
      return { score, max, lines, passedAll: score === max, results, sandboxPid, layers };
    };

    const errs = opts.skipTypeCheck ? [] : typeErrors(file);
    if (errs.length) {
      say(`✗ your file does not type-check (${errs.length} error${errs.length > 1 ? 's' : ''}); fix these first:`);
      for (const e of errs.slice(0, 8)) say(`    ${e}`);
      return report(0, []);
    }
    const imports = checkImports(transpile(readFileSync(file, 'utf8'), file), { root, forbiddenImports: ex.forbiddenImports, forbiddenModules: ex.forbiddenModules });
    // skipImportCheck (tests only): run a refused file anyway, to show what the sandbox alone does with it.
    if (imports.refusals.length && !opts.skipImportCheck) {
      say('✗ your file is not graded:');
      for (const r of imports.refusals) say(`    ${r}`);
      return report(0, []);
    }
    // The learner's process may read this folder, which holds nothing but the compiled file.
    privateDir = mkdtempSync(join(tmpdir(), 'loralab-grade-'));
    const learnerFile = join(privateDir, 'learner.mjs');
    writeFileSync(learnerFile, imports.code, { mode: 0o644 });
    chmodSync(privateDir, 0o755); // readable by the unprivileged user the sandbox may run as
    const p = planFor();
    layers = p.layers;
    for (const m of p.missing) console.error(`grade: sandbox: ${m}`);
    const command = { ...sandboxCommand(p, { root, learnerDir: privateDir, learnerFile, library: imports.library, heapMb: HEAP_MB, addressSpaceMb: ADDRESS_SPACE_MB, cpuSeconds: Math.ceil(limitS) + 5 }), cwd: privateDir };
    const nonce = randomBytes(16).toString('hex');
    const cfg = { checks: join(work, 'checks.mjs'), command, timeoutMs: limitS * 1000, nonce, heapMb: HEAP_MB, addressSpaceMb: ADDRESS_SPACE_MB };
    const r = spawnSync(process.execPath, [join(root, 'exercises/grader/runner.mjs'), JSON.stringify(cfg)], {
      encoding: 'utf8', cwd: root, timeout: (limitS + 60) * 1000, killSignal: 'SIGKILL', maxBuffer: 1 << 24,
    });
    const events = readEvents(r.stdout, nonce);
    sandboxPid = events.find((e) => e.type === 'sandbox')?.pid ?? null;
    if (sandboxPid !== null && !events.some((e) => e.type === 'reaped')) killGroup(sandboxPid);
    const output = events.find((e) => e.type === 'output');
    const showOutput = () => {
      const text = output ? `${output.stdout}${output.stderr}`.trimEnd() : '';
      if (!text) return;
      const ls = text.split('\n');
      say();
      say('your output (shown, not graded):');
      for (const l of ls.slice(0, OUTPUT_LINES)) say(`    ${l.slice(0, 200)}`);
      if (ls.length > OUTPUT_LINES || output.dropped) say(`    … (${ls.length > OUTPUT_LINES ? `${ls.length - OUTPUT_LINES} more lines` : ''}${output.dropped ? `${ls.length > OUTPUT_LINES ? ', ' : ''}${output.dropped} more characters` : ''})`);
    };
    const atLoad = events.find((e) => ['load-error', 'missing-exports', 'timeout', 'died', 'protocol'].includes(e.type) && !e.name);
    if (atLoad?.type === 'load-error') {
      say('✗ your file threw an error while loading, before any check could run:');
      for (const l of atLoad.message.split('\n')) say(`    ${l}`);
    } else if (atLoad?.type === 'missing-exports') {
      say(`✗ your file does not export ${atLoad.names.map((n) => `'${n}'`).join(', ')} (the starter shows the expected signatures)`);
    } else if (atLoad?.type === 'timeout') {
      say(`✗ your file did not finish loading within the ${limitS} s limit`);
    } else if (atLoad?.type === 'died') {
      say(`✗ your file ended its process while loading, before any check could run (${atLoad.why})`);
    } else if (atLoad?.type === 'protocol') {
      say(`✗ the grader could not read your file's exports (${atLoad.message})`);
    }
    if (atLoad) {
      showOutput();
      return report(0, []);
    }
    if (!events.some((e) => e.type === 'done')) {
      const err = r.stderr.split('\n').find((l) => /^\w*Error\b/.test(l)) ?? r.stderr.trim().split('\n').pop() ?? '';
      say(`✗ the checker stopped (${r.error?.code === 'ETIMEDOUT' ? 'time limit' : r.signal ? `signal ${r.signal}` : `exit ${r.status}`}): ${err}`);
    }
    let score = 0;
    const results = [];
    let stop = null; // the event that ended the learner's process during a check
    for (const c of ex.checks) {
      const res = events.find((e) => e.type === 'result' && e.name === c.name);
      const here = events.find((e) => ['timeout', 'died', 'protocol'].includes(e.type) && e.name === c.name);
      stop ??= here ?? null;
      if (res?.ok) {
        score += c.points;
        say(`  ✓ ${c.name} (${c.points}/${c.points})`);
      } else {
        const why = res ? res.message
          : here?.type === 'timeout' ? `did not finish within the ${limitS} s limit (an infinite loop, or far too slow?)`
          : here?.type === 'died' ? `the process died during this check (${here.why})`
          : here?.type === 'protocol' ? `the grader could not read your code's answer (${here.message})`
          : stop?.type === 'timeout' ? 'not run: an earlier check used up the time limit'
          : 'not run: the process stopped before this check';
        say(`  ✗ ${c.name} (0/${c.points})`);
        say(`      ${why}`);
        say(`      hint: ${c.hint}`);
      }
      results.push({ name: c.name, ok: Boolean(res?.ok) });
    }
    showOutput();
    return report(score, results);
  } finally {
    rmSync(work, { recursive: true, force: true });
    if (privateDir) rmSync(privateDir, { recursive: true, force: true });
  }
}

function main(argv) {
  if (!existsSync(join(root, 'lib/dist/index.js'))) {
    console.error('loralab is not built: run npm run build first (npm run grade does it for you)');
    return 2;
  }
  if (argv.includes('--all')) {
    let bad = 0;
    for (const slug of listExercises()) {
      const sol = grade(slug, join(exercisesDir, slug, 'solution.ts'));
      const sta = grade(slug, join(exercisesDir, slug, 'starter.ts'));
      const ok = sol.passedAll && !sta.passedAll;
      if (!ok) bad++;
      console.log(`${ok ? '✓' : '✗'} ${slug}: solution ${sol.score}/${sol.max}, starter ${sta.score}/${sta.max}`);
      if (!sol.passedAll) console.log(sol.lines.map((l) => `    ${l}`).join('\n'));
      if (sta.passedAll) console.log('    the starter must not pass every check');
    }
    console.log(bad ? `${bad} exercise(s) are wrong` : 'every solution scores 100 %, no starter does');
    return bad ? 1 : 0;
  }
  const slugArg = argv.find((a) => !a.startsWith('--') && argv[argv.indexOf(a) - 1] !== '--file');
  if (!slugArg) {
    console.error(`usage: npm run grade -- NN-slug [--file path/to/my.ts] | --all\nexercises:\n${listExercises().map((e) => `  ${e}`).join('\n')}`);
    return 2;
  }
  const all = listExercises();
  const matches = all.includes(slugArg) ? [slugArg] : all.filter((e) => e.startsWith(slugArg));
  if (matches.length > 1) {
    console.error(`'${slugArg}' matches several exercises; name one:\n${matches.map((e) => `  ${e}`).join('\n')}`);
    return 2;
  }
  const slug = matches[0];
  if (!slug) {
    console.error(`no exercise matches '${slugArg}'; exercises:\n${listExercises().map((e) => `  ${e}`).join('\n')}`);
    return 2;
  }
  const fi = argv.indexOf('--file');
  const file = fi >= 0 ? resolve(process.cwd(), argv[fi + 1] ?? '') : join(exercisesDir, slug, 'starter.ts');
  try {
    const res = grade(slug, file);
    console.log(res.lines.join('\n'));
    return res.passedAll ? 0 : 1;
  } catch (e) {
    console.error(`grade: ${e.message}`);
    return 2;
  }
}

if (process.argv[1] && basename(process.argv[1]) === 'grade.mjs' && dirname(resolve(process.argv[1])) === dirname(new URL(import.meta.url).pathname)) process.exit(main(process.argv.slice(2)));
