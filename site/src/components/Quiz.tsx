import { useEffect, useMemo, useState, type ReactElement } from 'react';
import drills from '@site/src/data/drills.json';
import TeX from './Math';
import { freshQuiz, loadQuiz, saveQuiz, type Answered, type QuizState } from './quizStore';
// the terminal quiz's rules for shuffling, reading and grading, shared (a plain module without Node APIs)
import { gradeAnswer, mentionedKeywords, presentQuestion, readNumber, seededRandom, type DrillQuestion, type PresentedQuestion, type ShortQuestion } from '../../../exercises/drills/grade.mjs';

interface Section { section: number; title: string; questions: DrillQuestion[] }

/** Inline $…$ in drill text rendered with KaTeX. */
function Rich({ text }: { text: string }): ReactElement {
  const parts = text.split(/(\$[^$]+\$)/g);
  return <>{parts.map((p, i) => (/^\$[^$]+\$$/.test(p) ? <TeX key={i} tex={p.slice(1, -1)} /> : <span key={i}>{p}</span>))}</>;
}

const letter = (i: number) => String.fromCharCode(65 + i);
const mark = (correct: boolean) => (correct ? '✓ ' : '✗ ');

function Options({ q, done, onPick }: { q: PresentedQuestion & { type: 'mcq' }; done?: Answered; onPick: (shownIndex: number) => void }): ReactElement {
  return (
    <ul className="quiz-options">
      {q.options.map((o, i) => {
        const chosen = done?.chosen === q.order[i];
        const state = !done ? '' : o.correct ? 'is-correct' : chosen ? 'is-wrong' : '';
        return (
          <li key={q.order[i]} className={state}>
            <button type="button" className={chosen ? 'quiz-chosen' : undefined} aria-pressed={done ? chosen : undefined} disabled={!!done} onClick={() => onPick(i)}>
              {letter(i)}. <Rich text={o.text} />
            </button>
            {done && <div className={`quiz-explanation ${o.correct ? 'is-correct' : ''}`}>{mark(o.correct)}{o.explanation}</div>}
          </li>
        );
      })}
    </ul>
  );
}

/** Marking a short answer against the model answer's key points (the learner's own judgement, with keyword hints). */
function SelfAssessment({ q, text, onScore }: { q: ShortQuestion; text: string; onScore: (covered: boolean[]) => void }): ReactElement {
  const [covered, setCovered] = useState(() => q.rubric.map(() => false));
  const hints = mentionedKeywords(q, text);
  return (
    <div className="quiz-self-assess">
      <p><strong>Model answer:</strong> <Rich text={q.modelAnswer} /></p>
      <p>Tick each key point your answer covered:</p>
      <ul className="quiz-points">
        {q.rubric.map((p, i) => (
          <li key={i}>
            <label>
              <input type="checkbox" checked={covered[i]} onChange={(e) => setCovered((c) => c.map((x, j) => (j === i ? e.target.checked : x)))} /> {p.point}
              {hints[i].length > 0 && <span className="quiz-hint"> (you wrote “{hints[i].join('”, “')}”)</span>}
            </label>
          </li>
        ))}
      </ul>
      <button type="button" className="button button--sm button--primary quiz-score-answer" onClick={() => onScore(covered)}>Score my answer</button>
    </div>
  );
}

function QuestionCard({ q, seed, done, onAnswered }: { q: DrillQuestion; seed: number; done?: Answered; onAnswered: (a: Answered) => void }): ReactElement {
  // the options' order for this attempt: the quiz's seed and the question, so a reload shows the same order
  const shown = useMemo(() => presentQuestion(q, seededRandom(`${seed}:${q.id}`)), [q, seed]);
  const [text, setText] = useState(done?.text ?? '');
  const [refusal, setRefusal] = useState<string | null>(null);
  const [assessing, setAssessing] = useState(false);
  const submit = (answer: string) => {
    const r = gradeAnswer(shown, answer);
    if (!r.valid) { setRefusal(r.message); return; } // not an attempt: the learner tries again
    setRefusal(null);
    if (r.selfAssess) { setAssessing(true); return; }
    onAnswered({ correct: r.correct, feedback: r.feedback, text: answer });
  };
  const reading = q.type === 'numeric' && !done && text.trim() ? readNumber(text, q.unit) : null;
  return (
    <div className={`quiz-question ${done ? (done.correct ? 'quiz-correct' : 'quiz-wrong') : ''}`} data-question={q.id}>
      <p><strong>{q.id}</strong> <Rich text={q.prompt} /></p>
      {shown.type === 'mcq' && <Options q={shown} done={done} onPick={(i) => {
        const r = gradeAnswer(shown, letter(i));
        if (r.valid && !r.selfAssess) onAnswered({ correct: r.correct, feedback: r.feedback, chosen: shown.order[i] });
      }} />}
      {q.type !== 'mcq' && (
        <form onSubmit={(e) => { e.preventDefault(); if (!done && !assessing) submit(text); }}>
          {q.type === 'numeric'
            ? <input type="text" aria-label={`answer to ${q.id}`} value={text} disabled={!!done} onChange={(e) => { setText(e.target.value); setRefusal(null); }} placeholder={q.unit ? `in ${q.unit}` : 'a number'} />
            : <textarea aria-label={`answer to ${q.id}`} value={text} disabled={!!done || assessing} onChange={(e) => { setText(e.target.value); setRefusal(null); }} rows={3} />}
          <button type="submit" className="button button--sm button--primary" disabled={!!done || assessing || text.trim() === ''}>Check</button>
          {reading?.ok && <span className="quiz-reading" data-testid="quiz-reading"> {reading.read}</span>}
        </form>
      )}
      {refusal && <p className="quiz-refused" role="alert">{refusal}</p>}
      {q.type === 'short' && assessing && !done && (
        <SelfAssessment q={q} text={text} onScore={(covered) => {
          const r = gradeAnswer(shown, text, covered);
          if (r.valid && !r.selfAssess) onAnswered({ correct: r.correct, feedback: r.feedback, text, covered });
        }} />
      )}
      {done && <p className="quiz-feedback">{mark(done.correct)}{done.feedback}</p>}
    </div>
  );
}

/**
 * The interview drills as a quiz: pick a section, answer, get an explanation at once. Progress (answers, score,
 * section, and the seed the options were shuffled with) is kept in localStorage until "Reset", which also reshuffles.
 */
export default function Quiz(): ReactElement {
  const sections = drills as Section[];
  const [state, setState] = useState<QuizState | null>(null); // null until read from localStorage (not at build time)
  useEffect(() => setState(loadQuiz()), []);
  useEffect(() => { if (state) saveQuiz(state); }, [state]);
  const section = state?.section ?? 'all';
  const questions = useMemo(() => sections.filter((s) => section === 'all' || s.section === section).flatMap((s) => s.questions), [section, sections]);
  if (!state) return <div className="quiz"><p>Loading the drills…</p></div>;
  const done = questions.filter((q) => q.id in state.answers);
  const right = done.filter((q) => state.answers[q.id].correct).length;
  return (
    <div className="quiz">
      <div className="quiz-bar">
        <label>Section{' '}
          <select value={String(section)} onChange={(e) => { const v = e.target.value; setState((s) => s && { ...s, section: v === 'all' ? 'all' : Number(v) }); }}>
            <option value="all">all ({sections.reduce((s, x) => s + x.questions.length, 0)} questions)</option>
            {sections.map((s) => <option key={s.section} value={s.section}>{s.section} · {s.title} ({s.questions.length})</option>)}
          </select>
        </label>
        <span className="quiz-bar-end">
          <span className="quiz-score" data-testid="quiz-score">score: {right}/{done.length} answered, {questions.length} in this set</span>
          <button type="button" className="button button--sm button--secondary" data-testid="quiz-reset" title="Forget every answer and shuffle the options again" onClick={() => setState((s) => freshQuiz(s?.section))}>Reset</button>
        </span>
      </div>
      {questions.map((q) => (
        <QuestionCard key={`${state.seed}:${q.id}`} q={q} seed={state.seed} done={state.answers[q.id]}
          onAnswered={(a) => setState((s) => s && { ...s, answers: { ...s.answers, [q.id]: a } })} />
      ))}
    </div>
  );
}
