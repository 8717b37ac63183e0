#!/usr/bin/env node
// Generates the site's content from the repository (build output, not committed):
//   docs/notebooks/NN-slug.mdx   each executed notebook: markdown, highlighted TypeScript, text/table outputs, and
//                                Plotly outputs as <PlotlyChart> (figure JSON and SVG fallback in static/figures/)
//   docs/exercises/NN-slug.mdx   each exercise: its README, the starter code, how to grade it locally
//   src/data/drills.json         the interview drills, for the quiz page
//   src/data/course.json         notebooks/course.json, checked, with the notebooks' titles (home page, lesson frames)
//   static/notebooks/            each .ipynb and its TypeScript source (notebooks/src/), served as downloads
//   static/vendor/, static/data/ Plotly's cartesian bundle (content-hashed name), weights for the NF4 explorable
//   static/vendor/qlora-*, static/demo/  the QLoRA demo's workers, model, task data and .wasm files (demoAssets.mjs)
// Links between notebooks, exercises and drills are rewritten to site routes; Docusaurus then fails the build on any
// broken link.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { fence, mdToMdx } from './mdx.mjs';
import { notebookToMdx } from './notebook.mjs';
import { loadCourse } from './course.mjs';
import { writeDemoAssets } from './demoAssets.mjs';

const site = new URL('..', import.meta.url).pathname;
const repo = join(site, '..');
const SECTIONS = ['Why fine-tune', 'Resource bottlenecks', 'LoRA, the idea', 'The mathematics', 'Adapters, prefix tuning and LoRA', 'QLoRA', 'Practice', 'Experiments and interviews'];

const reset = (d) => { rmSync(d, { recursive: true, force: true }); mkdirSync(d, { recursive: true }); };
const docs = join(site, 'docs');
reset(join(docs, 'notebooks'));
reset(join(docs, 'exercises'));
reset(join(site, 'static/figures'));
reset(join(site, 'static/notebooks/src'));
mkdirSync(join(site, 'src/data'), { recursive: true });

// ---- notebooks: each page, its figures, and the .ipynb and TypeScript source as downloads (static/notebooks/)
const nbDir = join(repo, 'notebooks');
const notebooks = readdirSync(nbDir).filter((f) => /^\d\d-.*\.ipynb$/.test(f)).sort();
const courseFile = join(nbDir, 'course.json');
const course = loadCourse(courseFile, notebooks.map((f) => f.replace(/\.ipynb$/, '')));
const nbIndex = [];
for (const f of notebooks) {
  const slug = f.replace(/\.ipynb$/, '');
  const nb = JSON.parse(readFileSync(join(nbDir, f), 'utf8'));
  const { mdx, title, figures } = notebookToMdx(nb, { slug, file: `notebooks/${f}`, course: course.notebooks[slug], courseFile: 'notebooks/course.json' });
  for (const fig of figures) {
    writeFileSync(join(site, 'static/figures', `${fig.id}.json`), fig.json);
    if (fig.svg) writeFileSync(join(site, 'static/figures', `${fig.id}.svg`), fig.svg);
  }
  writeFileSync(join(docs, 'notebooks', `${slug}.mdx`), mdx);
  cpSync(join(nbDir, f), join(site, 'static/notebooks', f));
  const source = join(nbDir, 'src', `${slug}.ts`);
  if (existsSync(source)) cpSync(source, join(site, 'static/notebooks/src', `${slug}.ts`));
  nbIndex.push({ n: Number(slug.slice(0, 2)), slug, title, hasSource: existsSync(source) });
}

// ---- exercises
const exDir = join(repo, 'exercises');
const exercises = readdirSync(exDir).filter((d) => /^\d\d-/.test(d) && existsSync(join(exDir, d, 'README.md'))).sort();
const exIndex = [];
for (const slug of exercises) {
  const readme = readFileSync(join(exDir, slug, 'README.md'), 'utf8');
  const title = (/^#\s+(.*)$/m.exec(readme)?.[1] ?? slug);
  const starter = readFileSync(join(exDir, slug, 'starter.ts'), 'utf8');
  const body = readme.replace(/^#\s+.*\n?/, '');
  const page = [
    '---',
    `title: ${JSON.stringify(title)}`,
    `sidebar_label: ${JSON.stringify(title.replace(/^\d\d · /, ''))}`,
    `slug: /exercises/${slug}`,
    '---',
    "import Math from '@site/src/components/Math';",
    '',
    mdToMdx(body, `exercises/${slug}/README.md`),
    '',
    '## Starter code',
    '',
    `\`exercises/${slug}/starter.ts\` — copy it, fill in the TODOs:`,
    '',
    fence('ts', starter),
    '',
    '## Grade it locally',
    '',
    fence('sh', `cp exercises/${slug}/starter.ts my-${slug}.ts\nnpm run grade -- ${slug} --file my-${slug}.ts`),
    '',
    'The grader type-checks your file, runs the checks in a separate process with a time and memory limit, and prints your score, each failure explained with a hint, and what to read next.',
    '',
  ];
  writeFileSync(join(docs, 'exercises', `${slug}.mdx`), `${page.join('\n')}\n`);
  exIndex.push({ n: Number(slug.slice(0, 2)), slug, title });
}

const exList = ['---', 'title: Exercises', 'slug: /exercises', '---', '', 'Sixteen graded exercises, two per section of the brief. Each page gives the task, the starter code and the command that grades your file locally (type-checked, run in a sandboxed process, scored with hints).', '',
  '| section | exercise |', '| --- | --- |', ...exIndex.map((e) => `| ${e.n} · ${SECTIONS[e.n - 1]} | [${e.title.replace(/^\d\d · /, '')}](/exercises/${e.slug}) |`), '', 'Interview questions: [the drills](/drills).', ''];
writeFileSync(join(docs, 'exercises', 'index.mdx'), `${exList.join('\n')}\n`);

// ---- KaTeX's stylesheet and fonts, served locally (math is rendered at build time; the CSS styles it)
const katexDist = join(repo, 'node_modules/katex/dist');
reset(join(site, 'static/katex'));
cpSync(join(katexDist, 'katex.min.css'), join(site, 'static/katex/katex.min.css'));
cpSync(join(katexDist, 'fonts'), join(site, 'static/katex/fonts'), { recursive: true });

// ---- Plotly's cartesian bundle (scatter, bar, heatmap and the other 2-D traces; the notebooks' figures use only
// scatter, bar and heatmap), served as a static file and loaded on demand by PlotlyChart. Kept out of the webpack
// bundle: 1.4 MB of pre-minified code that webpack would only parse and minify again. The file name carries a hash
// of its content, so the server can let browsers cache it for good.
const plotlySrc = readFileSync(join(repo, 'node_modules/plotly.js-cartesian-dist-min/plotly-cartesian.min.js'));
const plotlyName = `plotly-cartesian-${createHash('sha256').update(plotlySrc).digest('hex').slice(0, 12)}.min.js`;
reset(join(site, 'static/vendor'));
writeFileSync(join(site, 'static/vendor', plotlyName), plotlySrc);
const qloraDemo = await writeDemoAssets(repo, site);

// ---- real weights for the NF4 explorable: the first 16,384 of gemma-micro's layer-0 mlp.down_proj (the matrix
// notebook 6 quantizes), rounded to bf16 as the notebook does, as little-endian float32
reset(join(site, 'static/data'));
{
  const dist = join(repo, 'lib/dist');
  if (!existsSync(join(dist, 'io/index.js'))) throw new Error(`generate: ${dist}/io/index.js is missing: build the library first (npm run build)`);
  const { CheckpointWeights } = await import(join(dist, 'io/index.js'));
  const { roundToBf16 } = await import(join(dist, 'quant/bf16.js'));
  const { toFloat32 } = await import(join(dist, 'quant/convert.js'));
  const w = roundToBf16(toFloat32(CheckpointWeights.open(join(repo, 'datasets/models/gemma-micro')).read('model.layers.0.mlp.down_proj.weight'))).slice(0, 16384);
  writeFileSync(join(site, 'static/data/gemma-micro-down-proj-16k.f32'), new Uint8Array(w.buffer, w.byteOffset, w.byteLength));
}

// ---- drills
const drillDir = join(exDir, 'drills');
const drills = readdirSync(drillDir).filter((f) => /^section-\d+\.json$/.test(f)).sort((a, b) => parseInt(a.slice(8)) - parseInt(b.slice(8))).map((f) => JSON.parse(readFileSync(join(drillDir, f), 'utf8')));
writeFileSync(join(site, 'src/data/drills.json'), JSON.stringify(drills));
writeFileSync(join(site, 'src/data/vendor.json'), JSON.stringify({ plotly: `/vendor/${plotlyName}`, qloraDemo }));
writeFileSync(join(site, 'src/data/course.json'), JSON.stringify({ ...course, titles: Object.fromEntries(nbIndex.map((x) => [x.slug, { n: x.n, title: x.title, hasSource: x.hasSource }])) }));
writeFileSync(join(site, 'src/data/contents.json'), JSON.stringify({ sections: SECTIONS.map((title, i) => ({ n: i + 1, title, notebook: nbIndex.find((x) => x.n === i + 1) ?? null, exercises: exIndex.filter((x) => x.n === i + 1) })) }));
console.log(`generate: ${nbIndex.length} notebooks, ${exIndex.length} exercises, ${drills.reduce((s, d) => s + d.questions.length, 0)} drills`);
