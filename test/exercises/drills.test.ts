/**
 * The interview drills: every file validates against the schema, there are at least 60 questions over the eight
 * sections, every numeric answer the library can compute is recomputed here (so it can never be wrong) and agrees
 * with what the notebooks print, and the
 * drills cannot be passed without knowing the answers: the correct option's position is spread in the files and
 * shuffled (seeded) per attempt, empty and unreadable answers are refused without counting, numbers are read with
 * their units and suffixes, a short answer stating a listed misconception fails, and the terminal quiz behaves so on
 * piped and on interactive input.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { namedConfig, loraParameterCount, totalParameters } from 'loralab/peft';
import { FULL_FINETUNE_BYTES, predictMemory, type FullPrecision } from 'loralab/memory';
import { BottleneckAdapter, PrefixKV, loraScaling } from 'loralab/layers';
import { NF4_CODE, bitsPerParameter, quantize4bit } from 'loralab/quant';
import { UNITS, formatQuantity, gradeAnswer, loadDrills, misconceptionsIn, presentQuestion, readChoice, readNumber, seededRandom, type DrillQuestion, type McqQuestion, type NumericQuestion, type ShortQuestion } from '../../exercises/drills/drills.mjs';

const root = join(import.meta.dirname, '../..');
const drill = join(root, 'exercises/drills/drill.mjs');
const sections = loadDrills();
const all = sections.flatMap((s) => s.questions);
const byId = (id: string) => all.find((q) => q.id === id)!;
const mcqs = all.filter((q): q is McqQuestion & { compute?: undefined } => q.type === 'mcq');
const numerics = all.filter((q): q is NumericQuestion => q.type === 'numeric');
const shorts = all.filter((q): q is ShortQuestion => q.type === 'short');
const allTicked = (q: ShortQuestion) => q.rubric.map(() => true);
const letterOf = (q: McqQuestion) => String.fromCharCode(65 + q.options.findIndex((o) => o.correct));

const cfg = (a: Record<string, unknown>) => namedConfig(a.model as string)!;
const COMPUTE: Record<string, (a: Record<string, unknown>) => number> = {
  fullFineTuneBytesPerParam: (a) => FULL_FINETUNE_BYTES[a.precision as FullPrecision].total,
  fullFineTuneGB: (a) => { const b = predictMemory(cfg(a), { method: 'full', precision: a.precision as FullPrecision }).bytes; return (b.weights + b.masterWeights + b.gradients + b.optimizerStates) / 1e9; },
  kvCacheKiBPerToken: (a) => { const c = cfg(a); return (2 * c.numHiddenLayers * c.numKeyValueHeads * c.headDim * 2) / 1024; },
  loraParams: (a) => loraParameterCount(cfg(a), { r: a.r as number, loraAlpha: a.r as number, targetModules: a.targets as string[] | string }),
  loraPercent: (a) => (100 * COMPUTE.loraParams(a)) / totalParameters(cfg(a)),
  reduction: (a) => totalParameters(cfg(a)) / COMPUTE.loraParams(a),
  trainableStateGB: (a) => { const b = predictMemory(cfg(a), { method: a.method as 'qlora', r: a.r as number, targetModules: a.targets as string }).bytes; return (b.adapters + b.gradients + b.optimizerStates) / 1e9; },
  scaling: (a) => loraScaling(a.r as number, a.alpha as number, a.rslora as boolean),
  adapterParams: (a) => BottleneckAdapter.parameterCount(a.hidden as number, a.bottleneck as number),
  adaptersForModel: (a) => (a.layers as number) * 2 * BottleneckAdapter.parameterCount(a.hidden as number, a.bottleneck as number),
  prefixParams: (a) => PrefixKV.parameterCount(a.layers as number, a.tokens as number, a.kvDim as number),
  bitsPerParam: (a) => bitsPerParameter(quantize4bit(Float32Array.from({ length: (a.blocksize as number) * 256 * 4 }, (_, i) => Math.sin(i)), { blocksize: a.blocksize as number, doubleQuant: a.doubleQuant as boolean }).state).total,
  nf4: (a) => NF4_CODE[a.code as number],
  memoryGB: (a) => predictMemory(cfg(a), { method: a.method as 'full', r: a.r as number | undefined, targetModules: a.targets as string | undefined, precision: a.precision as FullPrecision | undefined }).bytes.total / 1e9,
};

/** Five copies of a question, numbered 1.1 … 1.5 (a section holds at least five). */
const five = (q: object) => [1, 2, 3, 4, 5].map((i) => ({ ...q, id: `1.${i}` }));

/** A fixture folder holding the schema and one section file. */
function fixture(section: object): string {
  const d = mkdtempSync(join(tmpdir(), 'loralab-drills-'));
  copyFileSync(join(root, 'exercises/drills/schema.json'), join(d, 'schema.json'));
  writeFileSync(join(d, 'section-1.json'), JSON.stringify(section));
  return d;
}

describe('drills: the data', () => {
  it('cover the eight sections with at least 60 questions of the three kinds', () => {
    expect(sections.map((s) => s.section)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(all.length).toBeGreaterThanOrEqual(60);
    for (const s of sections) expect(s.questions.length).toBeGreaterThanOrEqual(6);
    expect(new Set(all.map((q) => q.type))).toEqual(new Set(['mcq', 'numeric', 'short']));
    expect(new Set(all.map((q) => q.id)).size).toBe(all.length);
  });

  it('every numeric answer that the library can compute agrees with it', () => {
    const computed = all.filter((q) => q.compute) as (NumericQuestion & { compute: { fn: string; args: Record<string, unknown> } })[];
    expect(computed.length).toBeGreaterThanOrEqual(25);
    // the figures the teaching material once stated wrongly are all recomputed
    for (const id of ['1.2', '1.3', '1.9', '2.9', '3.4', '3.9', '3.10', '6.10', '6.11', '6.12']) expect(byId(id).type === 'numeric' && (byId(id) as NumericQuestion & { compute?: object }).compute, id).toBeTruthy();
    for (const q of computed) {
      const fn = COMPUTE[q.compute.fn];
      expect(fn, `${q.id}: unknown compute function '${q.compute.fn}'`).toBeDefined();
      const v = fn(q.compute.args);
      const tol = q.tolerance.kind === 'relative' ? q.tolerance.value * Math.abs(v) : q.tolerance.value;
      expect(Math.abs(q.answer - v), `${q.id}: stated ${q.answer}, the library computes ${v}`).toBeLessThanOrEqual(tol + 1e-9 * Math.abs(v));
    }
  });

  it('the numbers a drill and a notebook both state agree (the notebooks\' committed outputs)', () => {
    const outputs = (nb: string) => (JSON.parse(readFileSync(join(root, 'notebooks', `${nb}.ipynb`), 'utf8')).cells as { outputs?: { text?: string | string[]; data?: Record<string, string | string[]> }[] }[])
      .flatMap((c) => c.outputs ?? []).map((o) => [o.text, o.data?.['text/markdown'], o.data?.['text/plain']].flat().filter((t) => typeof t === 'string').join('')).join('\n');
    const num = (t: string) => Number(t.replace(/,/g, ''));
    // drill id, notebook, where the notebook prints the number, and how many decimals it prints
    const pairs: [string, string, RegExp, number][] = [
      ['1.3', '01-why-fine-tune', /^\| llama-7b \| [\d,]+ \| ([\d.]+) \|/m, 1],
      ['2.9', '02-resource-bottlenecks', /parameters, ([\d.]+) % of the model/, 2],
      ['3.3', '03-lora-idea', /^\| llama-7b \| [\d,]+ \| ([\d,]+) \|/m, 0],
      ['3.9', '03-lora-idea', /^\| gpt3-175b \|(?: [^|]+ \|){3} ([\d,]+)× \|/m, 0],
      ['3.10', '03-lora-idea', /^\| gpt3-175b \|(?: [^|]+ \|){2} ([\d,]+) \|/m, 0],
      ['6.10', '08-experiments-interviews', /(\d+) GB in pure bf16/, 0],
      ['6.11', '08-experiments-interviews', /16 B\/param\) vs ([\d.]+) GB/, 1],
    ];
    for (const [id, nb, re, decimals] of pairs) {
      const q = byId(id) as NumericQuestion;
      const m = re.exec(outputs(nb));
      expect(m, `${id}: ${nb} prints no figure matching ${re}`).not.toBeNull();
      const tol = (q.tolerance.kind === 'relative' ? q.tolerance.value * Math.abs(q.answer) : q.tolerance.value) + 0.5 * 10 ** -decimals;
      expect(Math.abs(num(m![1]) - q.answer), `${id}: the drill states ${q.answer}, ${nb} prints ${m![1]}`).toBeLessThanOrEqual(tol + 1e-9);
    }
  });

  it('no position holds more than half of the correct options', () => {
    const counts = new Map<number, number>();
    for (const q of mcqs) { const p = q.options.findIndex((o) => o.correct); counts.set(p, (counts.get(p) ?? 0) + 1); }
    expect(mcqs.length).toBeGreaterThanOrEqual(30);
    for (const [p, n] of counts) expect(n, `position ${String.fromCharCode(65 + p)} holds ${n} of ${mcqs.length} correct options`).toBeLessThanOrEqual(mcqs.length / 2);
    expect(counts.size, 'the correct option sits in at least three different positions').toBeGreaterThanOrEqual(3);
  });

  it('every question is self-contained: none leans on the one before it', () => {
    for (const q of all) {
      expect(q.prompt, q.id).not.toMatch(/^(…|\.\.\.|and\b|its\b|it\b|this\b|that\b|the same\b)/i);
      expect(q.prompt, q.id).not.toMatch(/\b(that|this) \d+ ?× ?\d+|\bprevious (question|answer)|\bthe brief\b|\babove\b/i);
    }
  });

  it('every numeric unit is one the reader knows, and answers read naturally', () => {
    const schema = JSON.parse(readFileSync(join(root, 'exercises/drills/schema.json'), 'utf8'));
    const numericSchema = schema.properties.questions.items.oneOf.find((s: { properties: { type: { const: string } } }) => s.properties.type.const === 'numeric');
    expect(new Set(numericSchema.properties.unit.enum)).toEqual(new Set(Object.keys(UNITS)));
    for (const q of numerics) {
      const feedback = (gradeAnswer(q, String(q.answer)) as { feedback: string }).feedback;
      expect(feedback, q.id).toMatch(/^Correct \(read as /);
      expect(feedback, q.id).not.toMatch(/The answer is [\d.,e-]+ (rank|numbers)\b/);
    }
    expect(formatQuantity(1, '')).toBe('1');
    expect(formatQuantity(1607, '×')).toBe('1,607×');
    expect(formatQuantity(6, '× N')).toBe('6 × N');
    expect(formatQuantity(1, 'parameters')).toBe('1 parameter');
    expect(formatQuantity(4.2e19, 'FLOPs')).toBe('4.2e19 FLOPs');
    expect(gradeAnswer(byId('4.2'), '1')).toMatchObject({ correct: true, feedback: expect.stringContaining('The answer is 1 (exactly).') });
  });

  it('every short question lists misconceptions, and its model answer states none of them', () => {
    expect(shorts.length).toBeGreaterThanOrEqual(7);
    for (const q of shorts) {
      expect(q.misconceptions.length, q.id).toBeGreaterThanOrEqual(2);
      expect(misconceptionsIn(q, q.modelAnswer), q.id).toEqual([]);
      expect(gradeAnswer(q, q.modelAnswer, allTicked(q)), q.id).toMatchObject({ valid: true, correct: true });
    }
  });

  it('a malformed file is rejected with its name and the failing field', () => {
    expect(() => loadDrills(fixture({ section: 1, title: 'Why', notebook: 'notebooks/01-x.ipynb', questions: five({ id: '1.1', type: 'numeric', prompt: 'How many bytes?', answer: 'twelve', tolerance: { kind: 'absolute', value: 0 }, unit: 'bytes', worked: '2+2+8' }) }))).toThrow(/section-1\.json: \/questions\/0\/answer must be number/);
    expect(() => loadDrills(fixture({ section: 1, title: 'Why', notebook: 'notebooks/01-x.ipynb', questions: five({ id: '1.1', type: 'numeric', prompt: 'How many bytes?', answer: 12, tolerance: { kind: 'absolute', value: 0 }, unit: 'furlongs', worked: '2+2+8' }) }))).toThrow(/section-1\.json: \/questions\/0\/unit must be equal to one of the allowed values/);
    expect(() => loadDrills(fixture({ section: 1, title: 'Why', notebook: 'notebooks/01-x.ipynb', questions: five({ id: '1.1', type: 'numeric', prompt: 'How many bytes?', answer: 12, tolerance: { kind: 'absolute', value: 0 }, unit: 'bytes' }) }))).toThrow(/section-1\.json: \/questions\/0 must have required property 'worked'/);
    expect(() => loadDrills(fixture({ section: 1, title: 'Why', notebook: 'notebooks/01-x.ipynb', questions: five({ id: '1.1', type: 'essay', prompt: 'How many bytes?' }) }))).toThrow(/section-1\.json: \/questions\/0\/type must be one of mcq, numeric, short/);
  });

  it('a misconception that does not match its own text, a broken pattern, or a model answer stating one is rejected', () => {
    const short = (misconceptions: object[], modelAnswer = 'Gradients, optimizer states and activations are held.') => ({ section: 1, title: 'Why', notebook: 'notebooks/01-x.ipynb', questions: [1, 2, 3, 4, 5].map((i) => ({ id: `1.${i}`, type: 'short', prompt: 'What does training hold?', modelAnswer, rubric: [{ point: 'gradients', keywords: ['gradient'] }, { point: 'states', keywords: ['state'] }], misconceptions })) });
    expect(() => loadDrills(fixture(short([{ text: 'Inference holds gradients too.', patterns: ['training holds nothing'], why: 'Inference has no backward pass.' }])))).toThrow(/section-1\.json: question 1\.1: misconceptions\[0\]\.patterns do not match its own text/);
    expect(() => loadDrills(fixture(short([{ text: 'Inference holds gradients too.', patterns: ['inference (holds'], why: 'Inference has no backward pass.' }])))).toThrow(/section-1\.json: question 1\.1: misconceptions\[0\]\.patterns: not a regular expression/);
    expect(() => loadDrills(fixture(short([{ text: 'Optimizer states are held.', patterns: ['optimizer states'], why: 'Inference has no backward pass.' }])))).toThrow(/section-1\.json: question 1\.1: the modelAnswer states the misconception/);
    expect(() => loadDrills(fixture(short([])))).toThrow(/section-1\.json: \/questions\/0\/misconceptions must NOT have fewer than 1 items/);
  });
});

describe('drills: shuffling', () => {
  it('is seeded and repeatable, keeps the correct option identifiable, and reaches every position', () => {
    for (const q of mcqs) {
      const a = presentQuestion(q, seededRandom(`7:${q.id}`));
      expect(presentQuestion(q, seededRandom(`7:${q.id}`))).toEqual(a);
      expect(a.options.filter((o) => o.correct)).toEqual(q.options.filter((o) => o.correct));
      expect(a.options).toEqual(a.order.map((i) => q.options[i]));
      expect([...a.order].sort()).toEqual(q.options.map((_, i) => i));
      const shown = a as McqQuestion;
      expect(gradeAnswer(shown, letterOf(shown))).toMatchObject({ valid: true, correct: true });
    }
    const q = mcqs[0];
    const positions = new Set(Array.from({ length: 40 }, (_, s) => presentQuestion(q, seededRandom(s)).options.findIndex((o) => o.correct)));
    expect(positions.size).toBe(q.options.length);
    // neighbouring seeds do not give the same order
    const orders = new Set(Array.from({ length: 10 }, (_, s) => presentQuestion(q, seededRandom(s)).order.join()));
    expect(orders.size).toBeGreaterThanOrEqual(5);
  });

  it('a multiple-choice answer is graded on the order the learner saw', () => {
    const shown = presentQuestion(byId('6.2'), seededRandom(3)) as McqQuestion;
    const right = letterOf(shown);
    const wrong = right === 'A' ? 'B' : 'A';
    expect(gradeAnswer(shown, right.toLowerCase()).valid && gradeAnswer(shown, right.toLowerCase())).toMatchObject({ correct: true, feedback: expect.stringMatching(/^Correct\. /) });
    expect(gradeAnswer(shown, `(${wrong})`)).toMatchObject({ valid: true, correct: false, feedback: expect.stringContaining(`The answer is ${right}, "So that zero is represented exactly"`) });
  });
});

describe('drills: reading answers', () => {
  it('an empty or unreadable answer is refused with a message and never scores', () => {
    for (const q of all) {
      for (const empty of ['', '   ', '\n']) {
        const r = gradeAnswer(q, empty);
        expect(r, `${q.id} '${JSON.stringify(empty)}'`).toMatchObject({ valid: false, message: expect.any(String) });
      }
    }
    const mcq = byId('6.2') as McqQuestion;
    expect(gradeAnswer(mcq, '')).toEqual({ valid: false, message: 'Type a letter A–D.' });
    expect(gradeAnswer(mcq, 'E')).toEqual({ valid: false, message: "'E' is not one of the options: type a letter A–D." });
    expect(gradeAnswer(mcq, '1')).toMatchObject({ valid: false });
    expect(readChoice('c)', 4)).toEqual({ ok: true, index: 2 });
    const num = byId('3.3');
    for (const bad of ['abc', '12 apples', '4,5', '12 or 13', '12 GB']) expect(gradeAnswer(num, bad), bad).toMatchObject({ valid: false });
    expect(gradeAnswer(byId('8.4'), '...')).toMatchObject({ valid: false, message: 'Write your answer in a sentence or two first.' });
  });

  it.each([
    ['0.5M', 'parameters', 500000, 'read as 0.5M = 500,000 parameters'],
    ['0.5 million', 'parameters', 500000, 'read as 0.5 million = 500,000 parameters'],
    ['1.8e6', 'parameters', 1.8e6, 'read as 1,800,000 parameters'],
    ['1,843,200', 'parameters', 1843200, 'read as 1,843,200 parameters'],
    ['1 843 200 params', 'parameters', 1843200, 'read as 1,843,200 parameters'],
    ['1.8M params', 'parameters', 1.8e6, 'read as 1.8M = 1,800,000 parameters'],
    ['7B', 'parameters', 7e9, 'read as 7B = 7,000,000,000 parameters'],
    ['4k', 'parameters', 4000, 'read as 4k = 4,000 parameters'],
    ['12 GB', 'GB', 12, 'read as 12 GB'],
    ['12000 MB', 'GB', 12, 'read as 12,000 MB = 12 GB'],
    ['12k MB', 'GB', 12, 'read as 12,000 MB = 12 GB'],
    ['80.9 gigabytes', 'GB', 80.9, 'read as 80.9 GB'],
    ['33554432 bytes', 'MiB', 32, 'read as 33,554,432 bytes = 32 MiB'],
    ['12 B', 'bytes', 12, 'read as 12 bytes'],
    ['12', 'bytes', 12, 'read as 12 bytes'],
    ['45%', '%', 45, 'read as 45 %'],
    ['45 percent', '%', 45, 'read as 45 %'],
    ['4.2e19', 'FLOPs', 4.2e19, 'read as 4.2e19 FLOPs'],
    ['4.2 × 10^19 FLOPs', 'FLOPs', 4.2e19, 'read as 4.2e19 FLOPs'],
    ['5e-5', '', 5e-5, 'read as 5e-5'],
    ['6N', '× N', 6, 'read as 6 × N'],
    ['1607x', '×', 1607, 'read as 1,607×'],
    ['~45', 'GB', 45, 'read as 45 GB'],
  ] as const)('reads %j in %j as %d', (text, unit, value, read) => {
    const r = readNumber(text, unit);
    expect(r).toMatchObject({ ok: true, read });
    expect((r as { value: number }).value).toBeCloseTo(value, 9);
  });

  it('a unit of another kind is refused, naming both kinds', () => {
    expect(readNumber('12 GB', 'parameters')).toEqual({ ok: false, message: "'12 GB' is a size in bytes, but this answer is a number of parameters: e.g. 1,843,200, 1.8M or 1.8e6." });
    expect(readNumber('12 %', 'GB')).toMatchObject({ ok: false, message: expect.stringMatching(/is a percentage, but this answer is a size in bytes \(in GB\)/) });
    expect(readNumber('2e400', '')).toMatchObject({ ok: false, message: "'2e400' is too large a number." });
    expect(() => readNumber('1', 'furlongs' as never)).toThrow(/unknown unit 'furlongs'/);
  });

  it('a numeric answer is graded on the value read, with the reading in the feedback', () => {
    expect(gradeAnswer(byId('7.2'), '1.8432M')).toMatchObject({ valid: true, correct: true, read: 'read as 1.8432M = 1,843,200 parameters' });
    expect(gradeAnswer(byId('7.2'), '1.8M')).toMatchObject({ valid: true, correct: false, feedback: expect.stringMatching(/^Not quite \(read as 1\.8M = 1,800,000 parameters\)\. The answer is 1,843,200 parameters \(exactly\)/) });
    expect(gradeAnswer(byId('1.3'), '107,810 MB')).toMatchObject({ valid: true, correct: true });
    expect(gradeAnswer(byId('3.3'), '4,194,304').valid && gradeAnswer(byId('3.3'), '4194305')).toMatchObject({ correct: false });
  });
});

describe('drills: short answers', () => {
  it('every listed misconception fails its short answer, even with every key point ticked', () => {
    for (const q of shorts) {
      for (const mc of q.misconceptions) {
        const r = gradeAnswer(q, mc.text);
        expect(r, `${q.id}: "${mc.text}"`).toMatchObject({ valid: true, correct: false, feedback: expect.stringContaining(mc.why) });
        expect(gradeAnswer(q, mc.text, allTicked(q)), `${q.id}: "${mc.text}" with every point ticked`).toMatchObject({ correct: false });
      }
    }
  });

  it('the answers that used to pass on keywords now fail', () => {
    expect(gradeAnswer(byId('8.8'), 'Full fine-tuning: it fits, QLoRA loses too much accuracy.', [true, true, true, true])).toMatchObject({ correct: false });
    expect(gradeAnswer(byId('8.4'), 'You should always use the biggest rank, more memory is fine and the alpha scaling takes care of it.', [true, true, true, true])).toMatchObject({ correct: false });
  });

  it('a negated misconception is not one, and the learner\'s marks decide the rest', () => {
    const q = byId('8.4') as ShortQuestion;
    const answer = 'You should not always use the biggest rank: it costs memory, risks overfitting, and past the intrinsic rank there is no gain.';
    expect(gradeAnswer(q, answer)).toEqual({ valid: true, selfAssess: true });
    expect(gradeAnswer(q, answer, [true, true, false, false])).toMatchObject({ correct: true, feedback: expect.stringMatching(/^Good: you covered 2 of 4; missing: /) });
    expect(gradeAnswer(q, answer, [true, false, false, false])).toMatchObject({ correct: false, feedback: expect.stringMatching(/^Not enough of the key points: you covered 1 of 4/) });
    // keywords alone never pass: the same answer with no point ticked fails
    expect(gradeAnswer(q, answer, [false, false, false, false])).toMatchObject({ correct: false });
    expect(() => gradeAnswer(q, answer, [true])).toThrow(/question 8\.4 needs one mark per key point \(4\)/);
  });
});

// ---- the terminal quiz

interface Run { stdout: string; code: number | null }

/** Run the terminal quiz interactively: every time it waits at a prompt, answer what `respond` says. */
function drive(args: string[], respond: (screen: string, prompt: string) => string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [drill, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    const timer = setTimeout(() => { child.kill(); reject(new Error(`the quiz did not finish:\n${out.slice(-2000)}`)); }, 60_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      const m = /(your answer \([^)]*\): |covered\? \(y\/n\) )$/.exec(out);
      if (m) child.stdin.write(`${respond(out, m[1])}\n`);
    });
    child.on('close', (code) => { clearTimeout(timer); resolve({ stdout: out, code }); });
  });
}

/** The question now asked (the last "[id · title]" header) and the options as the screen lists them. */
function current(screen: string): { q: DrillQuestion; shown: string[]; again: boolean } {
  const start = screen.lastIndexOf('\n[') > screen.lastIndexOf('\n(again) [') ? screen.lastIndexOf('\n[') : screen.lastIndexOf('\n(again) [');
  const block = screen.slice(start + 1);
  const id = /\[(\d+\.\d+) · /.exec(block)![1];
  return { q: byId(id), shown: [...block.matchAll(/^ {2}[A-Z]\. (.*)$/gm)].map((m) => m[1]), again: block.startsWith('(again)') };
}

/** The right answer to what the screen asks; `short` says what to write for a short answer. */
function rightAnswer(screen: string, prompt: string, short: (q: ShortQuestion, again: boolean) => string): string {
  if (prompt.startsWith('covered?')) return 'y';
  const { q, shown, again } = current(screen);
  if (q.type === 'mcq') return String.fromCharCode(65 + shown.indexOf(q.options.find((o) => o.correct)!.text));
  if (q.type === 'numeric') return String(q.answer);
  return short(q, again);
}

describe('npm run drill', () => {
  it('refuses an empty answer on piped input, asks again, and does not count it', () => {
    const r = spawnSync(process.execPath, [drill, '--section', '6', '--count', '2', '--seed', '1'], { input: '\n\n  \n', encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/2 questions from section 6 \(seed 1: run with --seed 1 to repeat\)/);
    expect(r.stdout.match(/your answer \(/g)!.length).toBe(4); // three refusals, then the input ends at the fourth prompt
    expect(r.stdout.match(/ {2}Type a (letter A–D|number)/g)!.length).toBe(3);
    expect(r.stdout).not.toMatch(/[✓✗]/);
    expect(r.stdout).toMatch(/\(input ended\)\nscore: 0\/2 on the first try \(0 %\)/);
  });

  it('the same seed gives the same quiz; another seed shuffles it differently', () => {
    const run = (seed: string) => spawnSync(process.execPath, [drill, '--section', '2', '--seed', seed], { input: '', encoding: 'utf8', timeout: 30_000 }).stdout;
    const first = (s: string) => s.split('\n').slice(0, 8).join('\n');
    expect(run('4')).toBe(run('4'));
    const others = ['5', '6', '7'].map(run);
    expect(others.some((o) => first(o) !== first(run('4')))).toBe(true);
    expect(spawnSync(process.execPath, [drill, '--section', '9'], { encoding: 'utf8' }).stderr).toMatch(/--section must be one of 1, 2, 3, 4, 5, 6, 7, 8/);
    expect(spawnSync(process.execPath, [drill, '--seed', 'x'], { encoding: 'utf8' }).stderr).toMatch(/--seed must be a non-negative integer \(got x\)/);
  });

  it('every question answered right on the options as shown scores full marks', async () => {
    const r = await drive(['--seed', '11'], (screen, prompt) => rightAnswer(screen, prompt, (q) => q.modelAnswer));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`score: ${all.length}/${all.length} on the first try \\(100 %\\)`));
    expect(r.stdout).not.toMatch(/\(again\)/);
    expect(r.stdout).toMatch(/✓ Correct \(read as /);
    expect(r.stdout).toMatch(/Mark each key point your answer covered:/);
  }, 90_000);

  it('a short answer stating a misconception fails and comes back; wrong letters are graded and repeated', async () => {
    const wrongLetter = (screen: string) => { const { q, shown } = current(screen); return String.fromCharCode(65 + shown.findIndex((t) => t !== (q as McqQuestion).options.find((o) => o.correct)!.text)); };
    const r = await drive(['--section', '8', '--seed', '2'], (screen, prompt) => {
      const { q, again } = current(screen);
      if (!again && q.type === 'mcq' && !prompt.startsWith('covered?')) return wrongLetter(screen);
      return rightAnswer(screen, prompt, (s, retry) => (retry ? s.modelAnswer : s.misconceptions[0].text));
    });
    const mcqCount = sections[7].questions.filter((q) => q.type === 'mcq').length;
    const shortCount = sections[7].questions.filter((q) => q.type === 'short').length;
    expect(r.stdout).toMatch(/✗ Not quite: your answer says "Full fine-tuning: it fits, QLoRA loses too much accuracy\." — 13B × 16 bytes/);
    expect(r.stdout.match(/^\(again\) /gm)!.length).toBe(mcqCount + shortCount);
    const n = sections[7].questions.length;
    expect(r.stdout).toMatch(new RegExp(`score: ${n - mcqCount - shortCount}/${n} on the first try`));
  }, 90_000);
});
