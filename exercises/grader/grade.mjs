#!/usr/bin/env node
// LoRA Lab's grader (npm run grade).
//   npm run grade -- NN-slug [--file path/to/my.ts]   grade one exercise (default file: its starter.ts)
//   npm run grade -- --all                           every solution must score 100 %, no starter may
// The learner's file is type-checked, compiled, then loaded and checked in a separate Node process with a memory
// limit and a time limit, so an infinite loop, a crash or a missing export becomes a report, never a hang.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const root = resolve(new URL('../..', import.meta.url).pathname);
const exercisesDir = join(root, 'exercises');
const MEMORY_MB = 512;

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

function compile(file, out) {
  const src = readFileSync(file, 'utf8');
  const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 }, fileName: file }).outputText;
  writeFileSync(out, js);
}

/** Grade one file against one exercise; returns { score, max, lines, passedAll }. */
export function grade(slug, file, opts = {}) {
  const dir = join(exercisesDir, slug);
  const lines = [];
  const say = (s = '') => lines.push(s);
  const checksTs = join(dir, 'checks.ts');
  if (!existsSync(checksTs)) throw new Error(`no exercise '${slug}' (expected ${relative(root, checksTs)})`);
  if (!existsSync(file)) throw new Error(`${file}: no such file`);
  const work = join(exercisesDir, '.grade', `${slug}-${process.pid}`);
  mkdirSync(work, { recursive: true });
  try {
    compile(checksTs, join(work, 'checks.mjs'));
    const meta = spawnSync(process.execPath, ['--input-type=module', '-e', `import(${JSON.stringify(join(work, 'checks.mjs'))}).then(m => console.log(JSON.stringify({ title: m.default.title, readNext: m.default.readNext, timeout: m.default.timeoutSeconds ?? 20, checks: m.default.checks.map(c => ({ name: c.name, points: c.points, hint: c.hint })) })))`], { encoding: 'utf8', cwd: root });
    if (meta.status !== 0) throw new Error(`${relative(root, checksTs)} failed to load:\n${meta.stderr}`);
    const ex = JSON.parse(meta.stdout);
    const max = ex.checks.reduce((s, c) => s + c.points, 0);
    say(`${slug} — ${ex.title}`);
    say(`file: ${relative(process.cwd(), file) || file}`);
    say();
    const report = (score, results) => {
      say();
      say(`score: ${score}/${max} (${Math.round((100 * score) / max)} %)`);
      say(`read next: ${ex.readNext}`);
      return { score, max, lines, passedAll: score === max, results };
    };

    const errs = opts.skipTypeCheck ? [] : typeErrors(file);
    if (errs.length) {
      say(`✗ your file does not type-check (${errs.length} error${errs.length > 1 ? 's' : ''}); fix these first:`);
      for (const e of errs.slice(0, 8)) say(`    ${e}`);
      return report(0, []);
    }
    compile(file, join(work, 'learner.mjs'));
    const r = spawnSync(process.execPath, [`--max-old-space-size=${MEMORY_MB}`, join(root, 'exercises/grader/runner.mjs'), join(work, 'learner.mjs'), join(work, 'checks.mjs')], {
      encoding: "utf8", cwd: root, timeout: Number(process.env.LORALAB_GRADE_TIMEOUT_S ?? ex.timeout) * 1000, killSignal: 'SIGKILL', maxBuffer: 1 << 24,
    });
    const events = r.stdout.split('\n').filter(Boolean).map((l) => { try { return JSON.parse(l); } catch { return null; } }).filter(Boolean);
    const load = events.find((e) => e.type === 'load-error');
    if (load) {
      say('✗ your file threw an error while loading, before any check could run:');
      for (const l of load.message.split('\n')) say(`    ${l}`);
      return report(0, []);
    }
    const missing = events.find((e) => e.type === 'missing-exports');
    if (missing) {
      say(`✗ your file does not export ${missing.names.map((n) => `'${n}'`).join(', ')} (the starter shows the expected signatures)`);
      return report(0, []);
    }
    let score = 0;
    const results = [];
    const timedOut = r.error?.code === 'ETIMEDOUT' || r.signal === 'SIGKILL';
    for (const c of ex.checks) {
      const res = events.find((e) => e.type === 'result' && e.name === c.name);
      const started = events.some((e) => e.type === 'start' && e.name === c.name);
      if (res?.ok) {
        score += c.points;
        say(`  ✓ ${c.name} (${c.points}/${c.points})`);
      } else {
        const why = res ? res.message
          : timedOut && started ? `did not finish within the ${process.env.LORALAB_GRADE_TIMEOUT_S ?? ex.timeout} s limit (an infinite loop, or far too slow?)`
          : timedOut ? 'not run: an earlier check used up the time limit'
          : started ? `the process died during this check (${r.signal ? `signal ${r.signal}` : `exit ${r.status}`}${/heap out of memory/i.test(r.stderr) ? `: it ran out of the ${MEMORY_MB} MB memory limit` : ''})`
          : 'not run: the process stopped before this check';
        say(`  ✗ ${c.name} (0/${c.points})`);
        say(`      ${why}`);
        say(`      hint: ${c.hint}`);
      }
      results.push({ name: c.name, ok: Boolean(res?.ok) });
    }
    return report(score, results);
  } finally {
    rmSync(work, { recursive: true, force: true });
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
