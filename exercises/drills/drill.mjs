#!/usr/bin/env node
// The interview drills in the terminal (npm run drill):
//   npm run drill [-- --section 6] [--count 10] [--seed 1]
// Answers are typed at the prompt: a letter for multiple choice, a number for numeric questions (units and suffixes
// such as 12 GB or 0.5M are read and read back), a sentence for short answers, which the learner then marks against
// the model answer's key points. An empty or unreadable answer is refused and asked again; it is not an attempt.
// Questions answered wrongly come back once at the end (options shuffled again); the score counts first tries.
import { createInterface } from 'node:readline';
import { gradeAnswer, loadDrills, mentionedKeywords, presentQuestion, seededRandom, shuffled } from './drills.mjs';

const argv = process.argv.slice(2);
const opt = (k) => { const i = argv.indexOf(k); return i >= 0 ? argv[i + 1] : undefined; };
const fail = (message) => { console.error(message); process.exit(2); };
const sections = loadDrills();
const section = opt('--section') ? Number(opt('--section')) : null;
const count = opt('--count') ? Number(opt('--count')) : null;
const seed = opt('--seed') ?? String(Date.now() % 100000);
if (section !== null && !sections.some((s) => s.section === section)) fail(`--section must be one of ${sections.map((s) => s.section).join(', ')} (got ${opt('--section')})`);
if (count !== null && !(Number.isInteger(count) && count > 0)) fail(`--count must be a positive integer (got ${opt('--count')})`);
if (!/^\d+$/.test(seed)) fail(`--seed must be a non-negative integer (got ${seed})`);

// one seeded stream orders the questions and shuffles each attempt's options: the same seed, the same quiz
const rand = seededRandom(Number(seed));
let pool = shuffled(sections.filter((s) => section === null || s.section === section).flatMap((s) => s.questions.map((q) => ({ ...q, sectionTitle: s.title }))), rand);
if (count) pool = pool.slice(0, count);

const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY });
const lines = rl[Symbol.asyncIterator]();
const ask = async (prompt) => { process.stdout.write(prompt); const r = await lines.next(); return r.done ? null : r.value; };
/** Ask until `read` accepts the line (it returns a message to refuse it); null when the input ends. */
async function askUntil(prompt, read) {
  for (;;) {
    const line = await ask(prompt);
    if (line === null) return null;
    const refusal = read(line);
    if (refusal === null) return line;
    console.log(`  ${refusal}`);
  }
}

const hintFor = (q) => (q.type === 'mcq' ? `a letter A–${String.fromCharCode(64 + q.options.length)}`
  : q.type === 'numeric' ? (q.unit === '' ? 'a number' : q.unit === '× N' ? 'a multiple of N' : `a number, in ${q.unit}`) : 'a sentence or two');

/** One attempt at a question: { correct } or null when the input ended. */
async function attempt(q) {
  const shown = presentQuestion(q, rand);
  if (shown.type === 'mcq') shown.options.forEach((o, i) => console.log(`  ${String.fromCharCode(65 + i)}. ${o.text}`));
  let r;
  const answer = await askUntil(`your answer (${hintFor(q)}): `, (line) => { r = gradeAnswer(shown, line); return r.valid ? null : r.message; });
  if (answer === null) return null;
  if (r.selfAssess) {
    console.log(`Model answer: ${q.modelAnswer}\nMark each key point your answer covered:`);
    const hints = mentionedKeywords(q, answer);
    const covered = [];
    for (const [i, p] of q.rubric.entries()) {
      const hint = hints[i].length ? ` (you wrote "${hints[i].join('", "')}")` : '';
      const mark = await askUntil(`  ${i + 1}. ${p.point}${hint}: covered? (y/n) `, (line) => (/^(y|yes|n|no)$/i.test(line.trim()) ? null : 'Type y or n.'));
      if (mark === null) return null;
      covered.push(/^y/i.test(mark.trim()));
    }
    r = gradeAnswer(shown, answer, covered);
  }
  console.log(`${r.correct ? '✓' : '✗'} ${r.feedback}\n`);
  return { correct: r.correct };
}

console.log(`LoRA Lab drills: ${pool.length} question${pool.length === 1 ? '' : 's'}${section ? ` from section ${section}` : ''} (seed ${seed}: run with --seed ${seed} to repeat). Type your answer and press Enter.\n`);
let score = 0;
const queue = pool.map((q) => ({ q, retry: false }));
while (queue.length) {
  const { q, retry } = queue.shift();
  console.log(`${retry ? '(again) ' : ''}[${q.id} · ${q.sectionTitle}] ${q.prompt}`);
  const r = await attempt(q);
  if (r === null) { console.log('\n(input ended)'); break; }
  if (r.correct && !retry) score++;
  if (!r.correct && !retry) queue.push({ q, retry: true });
}
rl.close();
console.log(`score: ${score}/${pool.length} on the first try (${pool.length ? Math.round((100 * score) / pool.length) : 0} %)`);
