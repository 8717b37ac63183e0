// Grading one drill answer: no Node APIs, so the terminal quiz (drill.mjs) and the site's quiz share these rules.

/** Parse "1,843,200", "4.2e19", "12 GB" → number (null if none). */
export function parseNumber(text) {
  const m = /[-+]?(?:\d[\d,_]*\.?\d*|\.\d+)(?:e[-+]?\d+)?/i.exec(String(text).replace(/\s/g, ''));
  if (!m) return null;
  const v = Number(m[0].replace(/[,_]/g, ''));
  return Number.isFinite(v) ? v : null;
}

/**
 * Grade an answer. mcq: a letter (A, B, …) or the option's index; numeric: a number within the tolerance; short: at
 * least half of the rubric's key points mentioned (a point counts when any of its keywords appears).
 * Returns { correct, feedback }.
 */
export function gradeAnswer(q, answer) {
  if (q.type === 'mcq') {
    const s = String(answer).trim().toUpperCase();
    const i = /^[A-Z]$/.test(s) ? s.charCodeAt(0) - 65 : Number.isInteger(Number(s)) ? Number(s) : -1;
    const chosen = q.options[i];
    const right = q.options.find((o) => o.correct);
    const letter = String.fromCharCode(65 + q.options.indexOf(right));
    if (!chosen) return { correct: false, feedback: `'${answer}' is not one of the options. The answer is ${letter}: ${right.explanation}` };
    return chosen.correct ? { correct: true, feedback: `Correct. ${chosen.explanation}` } : { correct: false, feedback: `Not quite: ${chosen.explanation} The answer is ${letter}: ${right.explanation}` };
  }
  if (q.type === 'numeric') {
    const v = parseNumber(answer);
    const tol = q.tolerance.kind === 'relative' ? q.tolerance.value * Math.abs(q.answer) : q.tolerance.value;
    const ok = v !== null && Math.abs(v - q.answer) <= tol + 1e-12 * Math.abs(q.answer);
    const tolText = q.tolerance.value === 0 ? 'exactly' : q.tolerance.kind === 'relative' ? `within ${100 * q.tolerance.value} %` : `within ±${q.tolerance.value}`;
    return { correct: ok, feedback: `${ok ? 'Correct.' : v === null ? 'That is not a number.' : `You said ${v}.`} The answer is ${q.answer.toLocaleString('en-US')} ${q.unit} (${tolText}). ${q.worked}` };
  }
  const text = String(answer).toLowerCase();
  const hit = q.rubric.filter((p) => p.keywords.some((k) => text.includes(k.toLowerCase())));
  const ok = hit.length * 2 >= q.rubric.length;
  const missed = q.rubric.filter((p) => !hit.includes(p)).map((p) => p.point);
  return { correct: ok, feedback: `${ok ? 'Good.' : 'Not enough of the key points.'} You covered ${hit.length}/${q.rubric.length} key points${missed.length ? `; missing: ${missed.join('; ')}` : ''}. Model answer: ${q.modelAnswer}` };
}
