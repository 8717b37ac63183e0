import type { ReactElement } from 'react';
import Layout from '@theme/Layout';
import Link from '@docusaurus/Link';
import contents from '@site/src/data/contents.json';

/** One screen: what LoRA Lab teaches, and where to start. */
export default function Home(): ReactElement {
  return (
    <Layout title="LoRA Lab" description="Understand and practise LoRA and QLoRA by running them: notebooks, exercises, drills">
      <main className="container margin-vert--lg">
        <h1>LoRA Lab</h1>
        <p style={{ fontSize: '1.2rem', maxWidth: 820 }}>
          Learn parameter-efficient fine-tuning by running it. LoRA Lab implements QLoRA for real in TypeScript — NF4 storage
          bit-compatible with bitsandbytes, LoRA adapters in PEFT's files, a Gemma model and a trainer — and every page here
          shows its intermediates: the singular values of a real fine-tuning update, the codes of a quantized weight, the
          memory of each method, the accuracy of LoRA, QLoRA and full fine-tuning on a text-to-SQL task.
        </p>
        <p>
          <Link className="button button--primary button--lg" to="/notebooks/01-why-fine-tune">Start with notebook 1: why fine-tune?</Link>{' '}
          <Link className="button button--secondary button--lg" to="/drills">Test yourself: interview drills</Link>
        </p>
        <div className="hero-grid">
          {contents.sections.map((s) => (
            <Link key={s.n} to={s.notebook ? `/notebooks/${s.notebook.slug}` : '/exercises'}>
              <strong>{s.n} · {s.title}</strong>
              <br />
              <small>notebook{s.exercises.length ? ` + ${s.exercises.length} exercises` : ''}</small>
            </Link>
          ))}
        </div>
      </main>
    </Layout>
  );
}
