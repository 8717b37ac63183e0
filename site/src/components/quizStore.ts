// The quiz's progress in localStorage: the seed its options were shuffled with, the chosen section and every
// finished answer, so a reload or a change of section keeps the score. Anything unreadable starts a fresh quiz.

/** A finished answer; `chosen` is the file's index of the option picked (so the highlight survives a reload). */
export interface Answered { correct: boolean; feedback: string; chosen?: number; text?: string; covered?: boolean[] }
export interface QuizState { seed: number; section: number | 'all'; answers: Record<string, Answered> }

export const QUIZ_STORAGE_KEY = 'loralab-drills-v1';

export const freshQuiz = (section: number | 'all' = 'all'): QuizState => ({ seed: Math.floor(Math.random() * 2 ** 31), section, answers: {} });

const isAnswered = (a: unknown): a is Answered => {
  const x = a as Answered;
  return typeof x === 'object' && x !== null && typeof x.correct === 'boolean' && typeof x.feedback === 'string'
    && (x.chosen === undefined || Number.isInteger(x.chosen)) && (x.text === undefined || typeof x.text === 'string')
    && (x.covered === undefined || (Array.isArray(x.covered) && x.covered.every((c) => typeof c === 'boolean')));
};

/** The stored quiz, keeping only well-formed answers; a fresh one if there is none or it cannot be read. */
export function loadQuiz(): QuizState {
  try {
    const raw = JSON.parse(window.localStorage.getItem(QUIZ_STORAGE_KEY) ?? 'null') as Partial<QuizState> | null;
    if (!raw || !Number.isInteger(raw.seed)) return freshQuiz();
    const section = raw.section === 'all' || Number.isInteger(raw.section) ? raw.section! : 'all';
    const answers = Object.fromEntries(Object.entries(raw.answers ?? {}).filter(([, a]) => isAnswered(a)));
    return { seed: raw.seed!, section, answers };
  } catch {
    return freshQuiz(); // unparsable, or storage blocked
  }
}

export function saveQuiz(state: QuizState): void {
  try { window.localStorage.setItem(QUIZ_STORAGE_KEY, JSON.stringify(state)); } catch { /* storage full or blocked: the quiz goes on in memory */ }
}
