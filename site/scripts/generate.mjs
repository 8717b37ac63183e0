#!/usr/bin/env node
// Generates the site's content from the repository (build output, not committed):
//   docs/notebooks/NN-slug.mdx   each executed notebook: markdown, highlighted TypeScript, text/table outputs, and
//                                Plotly outputs as <PlotlyChart> (figure JSON and SVG fallback in static/figures/)
//   docs/exercises/NN-slug.mdx   each exercise: its README, the starter code, how to grade it locally
//   src/data/drills.json         the interview drills, for the quiz page
// Links between notebooks, exercises and drills are rewritten to site routes; Docusaurus then fails the build on any
// broken link.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const site = new URL('..', import.meta.url).pathname;
const repo = join(site, '..');
const SECTIONS = ['Why fine-tune', 'Resource bottlenecks', 'LoRA, the idea', 'The mathematics', 'Adapters, prefix tuning and LoRA', 'QLoRA', 'Practice', 'Experiments and interviews'];

const reset = (d) => { rmSync(d, { recursive: true, force: true }); mkdirSync(d, { recursive: true }); };
const docs = join(site, 'docs');
reset(join(docs, 'notebooks'));
reset(join(docs, 'exercises'));
reset(join(site, 'static/figures'));
mkdirSync(join(site, 'src/data'), { recursive: true });

const src = (s) => (Array.isArray(s) ? s.join('') : s ?? '');

/** Titles go into the sidebar and <title> as plain text: inline TeX becomes Unicode ("$\\Delta W = BA$" → "ΔW = BA"). */
const plainTitle = (t) => t.replace(/\$([^$]+)\$/g, (_, tex) => tex.replace(/\\Delta\s*/g, 'Δ').replace(/\\alpha/g, 'α').replace(/_0/g, '₀').replace(/_\{?r\}?/g, 'ᵣ').replace(/[{}\\]/g, ''));

/** Site route of a repository-relative link target, or null to drop the link. */
function route(target) {
  const t = target.replace(/^(\.\.\/)+/, '').replace(/^\.\//, '');
  let m;
  if ((m = /^notebooks\/(\d\d-[a-z0-9-]+)\.ipynb$/.exec(t))) return `/notebooks/${m[1]}`;
  if ((m = /^exercises\/drills(\/README\.md)?\/?$/.exec(t))) return '/drills';
  if ((m = /^exercises\/(\d\d-[a-z0-9-]+)(\/README\.md)?\/?$/.exec(t))) return `/exercises/${m[1]}`;
  if (/^exercises\/?(README\.md)?$/.test(t)) return '/exercises';
  return null;
}

/** Escape text for MDX outside code: braces and angle brackets would be parsed as JSX. */
const escText = (s) => s.replace(/\\/g, '\\\\').replace(/([{}<>])/g, '\\$1');

/**
 * One markdown cell to MDX: code spans and fenced blocks kept literal, math turned into <Math> (rendered by KaTeX at
 * build time), links rewritten, the rest escaped.
 */
function mdToMdx(md, from) {
  const out = [];
  const lines = md.split('\n');
  let i = 0;
  while (i < lines.length) {
    if (/^```/.test(lines[i])) {
      const start = i++;
      while (i < lines.length && !/^```/.test(lines[i])) i++;
      out.push(lines.slice(start, i + 1).join('\n'));
      i++;
      continue;
    }
    if (/^\$\$/.test(lines[i].trim())) {
      const buf = [lines[i].trim().replace(/^\$\$/, '')];
      let closed = /\$\$$/.test(buf[0]) && buf[0].length > 0;
      if (closed) buf[0] = buf[0].replace(/\$\$$/, '');
      while (!closed && ++i < lines.length) {
        if (/\$\$\s*$/.test(lines[i])) { buf.push(lines[i].replace(/\$\$\s*$/, '')); closed = true; } else buf.push(lines[i]);
      }
      out.push(`<Math display tex={${JSON.stringify(buf.join('\n').trim())}} />`);
      i++;
      continue;
    }
    out.push(inline(lines[i], from));
    i++;
  }
  return out.join('\n');
}

function inline(line, from) {
  // tokens: `code`, $math$, [text](link), plain text
  const re = /(`[^`]+`)|(\$[^$\n]+\$)|\[([^\]]+)\]\(([^)\s]+)\)/g;
  let last = 0;
  let out = '';
  let m;
  const heading = /^(#{1,6} |\s*[-*] |\s*\d+\. |\s*\| |\s*> )/.exec(line)?.[0] ?? '';
  const body = line.slice(heading.length);
  while ((m = re.exec(body))) {
    out += escText(body.slice(last, m.index));
    if (m[1]) out += m[1];
    else if (m[2]) out += `<Math tex={${JSON.stringify(m[2].slice(1, -1))}} />`;
    else {
      const r = /^https?:/.test(m[4]) ? m[4] : route(m[4]);
      const text = inline(m[3], from);
      out += r ? `[${text}](${r})` : text;
      if (!r && !/^https?:/.test(m[4])) process.stderr.write(`generate: ${from}: link to ${m[4]} has no page on the site; kept as text\n`);
    }
    last = m.index + m[0].length;
  }
  return heading + out + escText(body.slice(last));
}

const fence = (lang, text) => {
  const t = text.replace(/\n+$/, '');
  const ticks = t.includes('```') ? '````' : '```';
  return `${ticks}${lang}\n${t}\n${ticks}`;
};

// ---- notebooks
const nbDir = join(repo, 'notebooks');
const notebooks = readdirSync(nbDir).filter((f) => /^\d\d-.*\.ipynb$/.test(f)).sort();
const nbIndex = [];
for (const f of notebooks) {
  const slug = f.replace(/\.ipynb$/, '');
  const n = Number(slug.slice(0, 2));
  const nb = JSON.parse(readFileSync(join(nbDir, f), 'utf8'));
  const title = plainTitle((/^#\s+(.*)$/m.exec(src(nb.cells[0].source))?.[1] ?? slug).replace(/^\d+\s*·\s*/, ''));
  const parts = [
    '---',
    `title: ${JSON.stringify(`${n} · ${title}`)}`,
    `sidebar_label: ${JSON.stringify(`${n} · ${title}`)}`,
    `description: ${JSON.stringify(`Notebook ${n} of LoRA Lab: ${title}`)}`,
    `slug: /notebooks/${slug}`,
    '---',
    "import PlotlyChart from '@site/src/components/PlotlyChart';",
    "import Math from '@site/src/components/Math';",
    '',
    `:::note[Notebook]\nThis page is \`notebooks/${f}\`, executed with the tslab kernel and published with its outputs. Run it yourself with \`npm run lab\`.\n:::`,
    '',
  ];
  let fig = 0;
  nb.cells.forEach((c, ci) => {
    let text = src(c.source);
    if (c.cell_type === 'markdown') {
      if (ci === 0) text = text.replace(/^#\s+.*\n?/, ''); // the title is the page title
      parts.push(mdToMdx(text, f), '');
      return;
    }
    parts.push(fence('ts', text), '');
    for (const o of c.outputs ?? []) {
      if (o.output_type === 'stream') {
        if (o.name === 'stdout') parts.push(fence('text', src(o.text)), '');
      } else if (o.output_type === 'error') {
        parts.push(fence('text', `${o.ename}: ${o.evalue}`), '');
      } else if (o.data) {
        const d = o.data;
        if (d['application/vnd.plotly.v1+json']) {
          const id = `${slug}-${++fig}`;
          writeFileSync(join(site, 'static/figures', `${id}.json`), JSON.stringify(d['application/vnd.plotly.v1+json']));
          if (d['image/svg+xml']) writeFileSync(join(site, 'static/figures', `${id}.svg`), src(d['image/svg+xml']));
          const t = d['application/vnd.plotly.v1+json'].layout?.title?.text ?? 'chart';
          parts.push(`<PlotlyChart id="${id}" title={${JSON.stringify(t)}} />`, '');
        } else if (d['text/markdown']) parts.push(mdToMdx(src(d['text/markdown']), f), '');
        else if (d['text/html']) parts.push(fence('html', src(d['text/html'])), '');
        else if (d['text/plain']) parts.push(fence('text', src(d['text/plain'])), '');
      }
    }
  });
  writeFileSync(join(docs, 'notebooks', `${slug}.mdx`), `${parts.join('\n')}\n`);
  nbIndex.push({ n, slug, title });
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

// ---- Plotly, served as a static file and loaded on demand by PlotlyChart (kept out of the webpack bundle: 3.5 MB
// of pre-minified code that webpack would only parse and minify again)
mkdirSync(join(site, 'static/vendor'), { recursive: true });
cpSync(join(repo, 'node_modules/plotly.js-dist-min/plotly.min.js'), join(site, 'static/vendor/plotly.min.js'));

// ---- drills
const drillDir = join(exDir, 'drills');
const drills = readdirSync(drillDir).filter((f) => /^section-\d+\.json$/.test(f)).sort((a, b) => parseInt(a.slice(8)) - parseInt(b.slice(8))).map((f) => JSON.parse(readFileSync(join(drillDir, f), 'utf8')));
writeFileSync(join(site, 'src/data/drills.json'), JSON.stringify(drills));
writeFileSync(join(site, 'src/data/contents.json'), JSON.stringify({ sections: SECTIONS.map((title, i) => ({ n: i + 1, title, notebook: nbIndex.find((x) => x.n === i + 1) ?? null, exercises: exIndex.filter((x) => x.n === i + 1) })) }));
console.log(`generate: ${nbIndex.length} notebooks, ${exIndex.length} exercises, ${drills.reduce((s, d) => s + d.questions.length, 0)} drills`);
