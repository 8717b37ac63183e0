import type { ReactElement } from 'react';
import Layout from '@theme/Layout';
import Link from '@docusaurus/Link';
import contents from '@site/src/data/contents.json';
import course from '@site/src/data/course.json';

type NotebookCourse = { objective: string; minutes: number };
const lessons = course.notebooks as Record<string, NotebookCourse>;
const demos = course.demos as Record<string, { title: string; objective: string; notebooks: string[] }>;

/** One screen: what LoRA Lab teaches, where to start, the eight lessons (objective and time) and the live demos. */
export default function Home(): ReactElement {
  const total = Object.values(lessons).reduce((s, l) => s + l.minutes, 0);
  return (
    <Layout title="LoRA Lab" description="Understand and practise LoRA and QLoRA by running them: notebooks, exercises, drills">
      <main className="container margin-vert--lg home">
        <h1>LoRA Lab</h1>
        <p className="home-lead">
          Learn parameter-efficient fine-tuning by running it. LoRA Lab implements QLoRA for real in TypeScript — NF4 storage
          bit-compatible with bitsandbytes, LoRA adapters in PEFT's files, a Gemma model and a trainer — and every page here
          shows its intermediates: the singular values of a real fine-tuning update, the codes of a quantized weight, the
          memory of each method, the accuracy of LoRA, QLoRA and full fine-tuning on a text-to-SQL task.
        </p>
        <p className="home-actions">
          <Link className="button button--primary button--lg" to="/notebooks/01-why-fine-tune">Start with notebook 1: why fine-tune?</Link>
          <Link className="button button--secondary button--lg" to="/drills">Test yourself: interview drills</Link>
        </p>
        <h2>The course: eight lessons, about {Math.round(total / 60 * 2) / 2} hours</h2>
        <div className="hero-grid">
          {contents.sections.map((s) => {
            const l = s.notebook ? lessons[s.notebook.slug] : undefined;
            return (
              <Link key={s.n} to={s.notebook ? `/notebooks/${s.notebook.slug}` : '/exercises'} data-testid="home-card">
                <strong>{s.n} · {s.title}</strong>
                {l && <span className="home-objective">{l.objective}</span>}
                <small>{l ? `about ${l.minutes} min · ` : ''}notebook{s.exercises.length ? ` + ${s.exercises.length} exercises` : ''}</small>
              </Link>
            );
          })}
        </div>
        <h2>Live demos</h2>
        <div className="home-demos">
          {Object.entries(demos).map(([slug, d]) => (
            <Link key={slug} to={`/demos/${slug}`} data-testid="home-demo">
              <strong>{d.title}</strong>
              <span className="home-objective">{d.objective}</span>
              <small>with notebook {d.notebooks.map((n) => Number(n.slice(0, 2))).join(' and ')}</small>
            </Link>
          ))}
        </div>
      </main>
    </Layout>
  );
}
