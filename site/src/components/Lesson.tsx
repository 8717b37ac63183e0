import type { ReactElement } from 'react';
import Head from '@docusaurus/Head';
import Link from '@docusaurus/Link';
import useBaseUrl from '@docusaurus/useBaseUrl';
import course from '@site/src/data/course.json';
import { usePlotlySrc } from './usePlot';

/** The course around notebook `slug`, from notebooks/course.json (checked by scripts/course.mjs at build time). */
export function lessonOf(slug: string) {
  const nb = (course.notebooks as Record<string, (typeof course.notebooks)[keyof typeof course.notebooks]>)[slug];
  const titles = course.titles as Record<string, { n: number; title: string; hasSource: boolean }>;
  if (!nb || !titles[slug]) throw new Error(`notebooks/course.json has no entry for notebook ${slug}`);
  return { ...nb, ...titles[slug], demos: ('demos' in nb ? (nb.demos as string[]) : []) };
}

const demoInfo = (slug: string) => (course.demos as Record<string, { title: string; objective: string; notebooks: string[] }>)[slug];

/**
 * Where to get the notebook and how to run it: the .ipynb (a download) and its TypeScript source, both served as
 * static files, then what to install and the one command. A plain <a> (not <Link>): these are files, not routes.
 */
function RunIt({ slug, hasSource }: { slug: string; hasSource: boolean }): ReactElement {
  const ipynb = useBaseUrl(`/notebooks/${slug}.ipynb`);
  const ts = useBaseUrl(`/notebooks/src/${slug}.ts`);
  return (
    <div className="nb-run" data-testid="nb-run">
      <strong>Run it yourself</strong>
      <ol>
        <li>
          Get the notebook: <a href={ipynb} download={`${slug}.ipynb`} data-testid="nb-download">download <code>{slug}.ipynb</code></a>
          {hasSource && <> · its TypeScript source <a href={ts} data-testid="nb-source"><code>notebooks/src/{slug}.ts</code></a></>}
          {' '}(it runs inside a clone of LoRA Lab, which it imports).
        </li>
        <li>
          Install Node.js 20.19 or later and Jupyter — <code>apt-get install jupyter-notebook python3-nbclient</code> (Debian, Ubuntu) or <code>pip install jupyterlab</code> — then run <code>npm ci</code> in the clone.
        </li>
        <li>
          <code>npm run lab</code> starts Jupyter on <code>notebooks/</code> with the TypeScript kernel (tslab); open <code>{slug}.ipynb</code> and run the cells top to bottom (minutes on a CPU).
        </li>
      </ol>
    </div>
  );
}

/**
 * Plotly's bundle and the page's figure specs, preloaded from the HTML's head: they download while the page's own
 * code does, instead of after hydration when the charts ask for them.
 */
function Preloads({ slug, figures }: { slug: string; figures: number }): ReactElement {
  const plotly = usePlotlySrc();
  const fig = useBaseUrl('/figures/');
  return (
    <Head>
      <link rel="preload" as="script" href={plotly} />
      {Array.from({ length: figures }, (_, i) => <link key={i} rel="preload" as="fetch" crossOrigin="anonymous" href={`${fig}${slug}-${i + 1}.json`} />)}
    </Head>
  );
}

/**
 * The top of a notebook page: objective, time, what you will learn and need, live demos, and how to run it;
 * `figures` is how many Plotly charts the page has (their specs are preloaded).
 */
export function LessonIntro({ slug, figures = 0 }: { slug: string; figures?: number }): ReactElement {
  const l = lessonOf(slug);
  return (
    <section className="nb-intro" data-testid="lesson-intro">
      <Preloads slug={slug} figures={figures} />
      <p className="nb-objective"><strong>Objective:</strong> {l.objective} <span className="nb-time">About {l.minutes} minutes.</span></p>
      <div className="nb-intro-grid">
        <div>
          <strong>You will learn</strong>
          <ul data-testid="lesson-learn">{l.learn.map((x) => <li key={x}>{x}</li>)}</ul>
        </div>
        <div>
          <strong>You need</strong>
          <ul data-testid="lesson-need">{l.prerequisites.map((x) => <li key={x}>{x}</li>)}</ul>
          {l.demos.length > 0 && (
            <>
              <strong>Try it live</strong>
              <ul data-testid="lesson-demos">{l.demos.map((d) => <li key={d}><Link to={`/demos/${d}`}>{demoInfo(d).title}</Link>: {demoInfo(d).objective}</li>)}</ul>
            </>
          )}
        </div>
      </div>
      <RunIt slug={slug} hasSource={l.hasSource} />
    </section>
  );
}

/** The end of a notebook page: the key takeaways. */
export function LessonTakeaways({ slug }: { slug: string }): ReactElement {
  const l = lessonOf(slug);
  return (
    <section className="nb-takeaways" data-testid="lesson-takeaways">
      <h2 id="key-takeaways">Key takeaways</h2>
      <ul>{l.takeaways.map((x) => <li key={x}>{x}</li>)}</ul>
    </section>
  );
}

/** Lesson links for a demo page: the notebooks that explain what the demo shows. */
export function DemoLessons({ demo }: { demo: string }): ReactElement {
  const d = demoInfo(demo);
  const titles = course.titles as Record<string, { n: number; title: string }>;
  return (
    <p className="demo-lessons" data-testid="demo-lessons">
      Explained in {d.notebooks.map((n, i) => <span key={n}>{i > 0 ? ' and ' : ''}<Link to={`/notebooks/${n}`}>notebook {titles[n].n} · {titles[n].title}</Link></span>)}.
    </p>
  );
}
