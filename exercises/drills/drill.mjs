#!/usr/bin/env node
// The interview drills in the terminal (npm run drill):
//   npm run drill [-- --section 6] [--count 10] [--seed 1]
// Answers are typed at the prompt: a letter for multiple choice, a number for numeric questions, a sentence for short
// answers. Feedback comes at once; questions answered wrongly come back once at the end; then the score.
import { createInterface } from 'node:readline';
import { gradeAnswer, loadDrills } from './drills.mjs';

const argv = process.argv.slice(2);
const opt = (k) => { const i = argv.indexOf(k); return i >= 0 ? argv[i + 1] : undefined; };
const section = opt('--section') ? Number(opt('--section')) : null;
const count = opt('--count') ? Number(opt('--count')) : null;
let seed = Number(opt('--seed') ?? Date.now() % 100000);
const sections = loadDrills();
if (section !== null && !sections.some((s) => s.section === section)) {
  console.error(`--section must be one of ${sections.map((s) => s.section).join(', ')} (got ${opt('--section')})`);
  process.exit(2);
}
if (count !== null && !(Number.isInteger(count) && count > 0)) {
  console.error(`--count must be a positive integer (got ${opt('--count')})`);
  process.exit(2);
}
const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296);
let pool = sections.filter((s) => section === null || s.section === section).flatMap((s) => s.questions.map((q) => ({ ...q, sectionTitle: s.title })));
for (let i = pool.length - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); [pool[i], pool[j]] = [pool[j], pool[i]]; }
if (count) pool = pool.slice(0, count);

const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY });
const lines = rl[Symbol.asyncIterator]();
const ask = async (prompt) => { process.stdout.write(prompt); const r = await lines.next(); return r.done ? null : r.value; };

console.log(`LoRA Lab drills: ${pool.length} question${pool.length === 1 ? '' : 's'}${section ? ` from section ${section}` : ''}. Type your answer and press Enter.\n`);
let score = 0;
const queue = pool.map((q) => ({ q, retry: false }));
let asked = 0;
while (queue.length) {
  const { q, retry } = queue.shift();
  asked++;
  console.log(`${retry ? '(again) ' : ''}[${q.id} · ${q.sectionTitle}] ${q.prompt}`);
  if (q.type === 'mcq') q.options.forEach((o, i) => console.log(`  ${String.fromCharCode(65 + i)}. ${o.text}`));
  const hint = q.type === 'mcq' ? 'letter' : q.type === 'numeric' ? `number${q.unit ? `, in ${q.unit}` : ''}` : 'a sentence';
  const a = await ask(`your answer (${hint}): `);
  if (a === null) { console.log('\n(input ended)'); break; }
  const r = gradeAnswer(q, a);
  console.log(`${r.correct ? '✓' : '✗'} ${r.feedback}\n`);
  if (r.correct && !retry) score++;
  if (!r.correct && !retry) queue.push({ q, retry: true });
}
rl.close();
console.log(`score: ${score}/${pool.length} on the first try (${pool.length ? Math.round((100 * score) / pool.length) : 0} %)`);
