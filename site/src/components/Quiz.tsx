import { useMemo, useState, type ReactElement } from 'react';
import drills from '@site/src/data/drills.json';
import TeX from './Math';
// the terminal quiz's grading rules, shared (a plain module without Node APIs)
import { gradeAnswer } from '../../../exercises/drills/grade.mjs';

interface Option { text: string; correct: boolean; explanation: string }
/** The fields the page shows; the rest of each question is read by gradeAnswer. */
interface Question { id: string; type: 'mcq' | 'numeric' | 'short'; prompt: string; options?: Option[]; unit?: string }
interface Section { section: number; title: string; questions: Question[] }

/** Inline $…$ in drill text rendered with KaTeX. */
function Rich({ text }: { text: string }): ReactElement {
  const parts = text.split(/(\$[^$]+\$)/g);
  return <>{parts.map((p, i) => (/^\$[^$]+\$$/.test(p) ? <TeX key={i} tex={p.slice(1, -1)} /> : <span key={i}>{p}</span>))}</>;
}

function QuestionCard({ q, onAnswered }: { q: Question; onAnswered: (correct: boolean) => void }): ReactElement {
  const [result, setResult] = useState<{ correct: boolean; feedback: string } | null>(null);
  const [text, setText] = useState('');
  const answer = (given: string) => {
    if (result) return;
    const r = gradeAnswer(q, given) as { correct: boolean; feedback: string };
    setResult(r);
    onAnswered(r.correct);
  };
  return (
    <div className={`quiz-question ${result ? (result.correct ? 'quiz-correct' : 'quiz-wrong') : ''}`} data-question={q.id}>
      <p><strong>{q.id}</strong> <Rich text={q.prompt} /></p>
      {q.type === 'mcq' && (
        <ul className="quiz-options">
          {q.options!.map((o, i) => (
            <li key={i}>
              <button type="button" disabled={!!result} onClick={() => answer(String.fromCharCode(65 + i))}>{String.fromCharCode(65 + i)}. {o.text}</button>
              {result && <div className={`quiz-explanation ${o.correct ? 'is-correct' : ''}`}>{o.correct ? '✓ ' : '✗ '}{o.explanation}</div>}
            </li>
          ))}
        </ul>
      )}
      {q.type !== 'mcq' && (
        <form onSubmit={(e) => {
          e.preventDefault();
          answer(text);
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
