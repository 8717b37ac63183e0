import { useMemo, useState, type ReactElement } from 'react';
import drills from '@site/src/data/drills.json';
import TeX from './Math';

interface Option { text: string; correct: boolean; explanation: string }
interface Question {
  id: string; type: 'mcq' | 'numeric' | 'short'; prompt: string; options?: Option[];
  answer?: number; tolerance?: { kind: 'absolute' | 'relative'; value: number }; unit?: string; worked?: string;
  modelAnswer?: string; rubric?: { point: string; keywords: string[] }[];
}
interface Section { section: number; title: string; questions: Question[] }

/** Same rules as exercises/drills/drills.mjs (the terminal quiz). */
function parseNumber(text: string): number | null {
  const m = /[-+]?(?:\d[\d,_]*\.?\d*|\.\d+)(?:e[-+]?\d+)?/i.exec(text.replace(/\s/g, ''));
  if (!m) return null;
  const v = Number(m[0].replace(/[,_]/g, ''));
  return Number.isFinite(v) ? v : null;
}

/** Inline $…$ in drill text rendered with KaTeX. */
function Rich({ text }: { text: string }): ReactElement {
  const parts = text.split(/(\$[^$]+\$)/g);
  return <>{parts.map((p, i) => (/^\$[^$]+\$$/.test(p) ? <TeX key={i} tex={p.slice(1, -1)} /> : <span key={i}>{p}</span>))}</>;
}

function QuestionCard({ q, onAnswered }: { q: Question; onAnswered: (correct: boolean) => void }): ReactElement {
  const [result, setResult] = useState<{ correct: boolean; feedback: ReactElement } | null>(null);
  const [text, setText] = useState('');
  const answer = (correct: boolean, feedback: ReactElement) => {
    if (result) return;
    setResult({ correct, feedback });
    onAnswered(correct);
  };
  return (
    <div className={`quiz-question ${result ? (result.correct ? 'quiz-correct' : 'quiz-wrong') : ''}`} data-question={q.id}>
      <p><strong>{q.id}</strong> <Rich text={q.prompt} /></p>
      {q.type === 'mcq' && (
        <ul className="quiz-options">
          {q.options!.map((o, i) => (
            <li key={i}>
              <button type="button" disabled={!!result} onClick={() => answer(o.correct, <>{o.correct ? 'Correct. ' : 'Not quite. '}{o.explanation}</>)}>{String.fromCharCode(65 + i)}. {o.text}</button>
              {result && <div className={`quiz-explanation ${o.correct ? 'is-correct' : ''}`}>{o.correct ? '✓ ' : '✗ '}{o.explanation}</div>}
            </li>
          ))}
        </ul>
      )}
      {q.type !== 'mcq' && (
        <form onSubmit={(e) => {
          e.preventDefault();
          if (q.type === 'numeric') {
            const v = parseNumber(text);
            const tol = q.tolerance!.kind === 'relative' ? q.tolerance!.value * Math.abs(q.answer!) : q.tolerance!.value;
            const ok = v !== null && Math.abs(v - q.answer!) <= tol + 1e-12 * Math.abs(q.answer!);
            const tolText = q.tolerance!.value === 0 ? 'exactly' : q.tolerance!.kind === 'relative' ? `within ${100 * q.tolerance!.value} %` : `within ±${q.tolerance!.value}`;
            answer(ok, <>{ok ? 'Correct. ' : `Not quite${v === null ? ' (not a number)' : ''}. `}Answer: {q.answer!.toLocaleString('en-US')} {q.unit} ({tolText}). {q.worked}</>);
          } else {
            const t = text.toLowerCase();
            const hit = q.rubric!.filter((p) => p.keywords.some((k) => t.includes(k.toLowerCase())));
            answer(hit.length * 2 >= q.rubric!.length, <>You covered {hit.length}/{q.rubric!.length} key points ({q.rubric!.map((p) => p.point).join('; ')}). Model answer: {q.modelAnswer}</>);
          }
        }}>
          {q.type === 'numeric' ? <input type="text" inputMode="decimal" aria-label={`answer to ${q.id}`} value={text} disabled={!!result} onChange={(e) => setText(e.target.value)} placeholder={q.unit ? `in ${q.unit}` : 'a number'} />
            : <textarea aria-label={`answer to ${q.id}`} value={text} disabled={!!result} onChange={(e) => setText(e.target.value)} rows={3} />}
          <button type="submit" disabled={!!result}>Check</button>
        </form>
      )}
      {result && <p className="quiz-feedback">{result.correct ? '✓ ' : '✗ '}{result.feedback}</p>}
    </div>
  );
}

/** The interview drills as a quiz: pick a section, answer, get an explanation at once; the score stays on the page. */
export default function Quiz(): ReactElement {
  const sections = drills as Section[];
  const [section, setSection] = useState<number | 'all'>('all');
  const [answers, setAnswers] = useState<Record<string, boolean>>({});
  const questions = useMemo(() => sections.filter((s) => section === 'all' || s.section === section).flatMap((s) => s.questions), [section, sections]);
  const done = questions.filter((q) => q.id in answers);
  const right = done.filter((q) => answers[q.id]).length;
  return (
    <div className="quiz">
      <div className="quiz-bar">
        <label>Section{' '}
          <select value={String(section)} onChange={(e) => setSection(e.target.value === 'all' ? 'all' : Number(e.target.value))}>
            <option value="all">all ({sections.reduce((s, x) => s + x.questions.length, 0)} questions)</option>
            {sections.map((s) => <option key={s.section} value={s.section}>{s.section} · {s.title} ({s.questions.length})</option>)}
          </select>
        </label>
        <span className="quiz-score" data-testid="quiz-score">score: {right}/{done.length} answered, {questions.length} in this set</span>
      </div>
      {questions.map((q) => <QuestionCard key={q.id} q={q} onAnswered={(c) => setAnswers((a) => ({ ...a, [q.id]: c }))} />)}
    </div>
  );
}
