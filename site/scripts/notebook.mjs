// One executed notebook to one MDX page, laid out for reading: a leading block of imports folded, code cells of more
// than about CELL_CAP lines split where a statement ends, consecutive text outputs merged into one block, Plotly
// outputs as <PlotlyChart>, and the course around it (<LessonIntro>, <LessonTakeaways>, explorables at the end of the
// section course.json names).
import { escText, fence, mdToMdx, plainTitle } from './mdx.mjs';

/** Code cells longer than this are split (a block may run to CELL_CAP + CELL_SLACK rather than leave a short tail). */
export const CELL_CAP = 20;
const CELL_SLACK = 4;
/** Fewer import lines than this stay in the cell. */
export const FOLD_IMPORTS_FROM = 3;

const src = (s) => (Array.isArray(s) ? s.join('') : s ?? '');

/**
 * The leading import statements of a cell (comments and blank lines among them included), and the rest.
 * A multi-line `import { … } from '…'` counts as one statement of several lines.
 */
export function splitImports(lines) {
  let i = 0;
  let end = 0;
  let statements = 0;
  while (i < lines.length) {
    const l = lines[i];
    if (/^\s*import\b/.test(l)) {
      statements++;
      // a statement ends on the line that names its module: `from '…'` or a bare `import '…'`
      while (i < lines.length && !/(\bfrom\s*|^\s*import\s*)(['"]).*\2;?\s*$/.test(lines[i])) i++;
      end = ++i;
    } else if (/^\s*(\/\/.*)?$/.test(l)) i++;
    else break;
  }
  return { imports: lines.slice(0, end), rest: lines.slice(end), statements };
}

/**
 * Indices b (0 < b < lines.length) where lines[0..b) ends a run of complete statements: the bracket depth is back to
 * zero and the next line does not continue an expression. Strings, template literals and // comments are skipped;
 * a good-enough reading of TypeScript for choosing where to split.
 */
export function statementBreaks(lines) {
  const breaks = [];
  let depth = 0;
  let quote = null; // the open string or template delimiter, carried across lines only for templates
  lines.forEach((line, li) => {
    for (let j = 0; j < line.length; j++) {
      const ch = line[j];
      if (quote) {
        if (ch === '\\') j++;
        else if (ch === quote) quote = null;
        continue;
      }
      if (ch === '/' && line[j + 1] === '/') break;
      if (ch === '"' || ch === "'" || ch === '`') quote = ch;
      else if ('([{'.includes(ch)) depth++;
      else if (')]}'.includes(ch)) depth = Math.max(0, depth - 1);
    }
    if (quote !== '`') quote = null;
    const next = lines[li + 1];
    if (li + 1 < lines.length && depth === 0 && !quote && !/^\s*([.)\]}?:+\-*/&|,]|=>)/.test(next)) breaks.push(li + 1);
  });
  return breaks;
}

/** Split a cell's lines into blocks of at most about `cap` lines, at statement ends (blank lines preferred). */
export function splitCell(lines, cap = CELL_CAP) {
  const blocks = [];
  let start = 0;
  const breaks = statementBreaks(lines);
  while (lines.length - start > cap + CELL_SLACK) {
    const fit = breaks.filter((b) => b > start && b - start <= cap && lines.length - b >= CELL_SLACK);
    const blank = fit.filter((b) => b - start >= cap / 2 && /^\s*$/.test(lines[b]));
    const b = blank.at(-1) ?? fit.at(-1) ?? breaks.find((x) => x > start + cap && lines.length - x >= CELL_SLACK);
    if (b === undefined) break;
    blocks.push(lines.slice(start, b));
    start = b;
    while (start < lines.length && /^\s*$/.test(lines[start])) start++;
  }
  blocks.push(lines.slice(start));
  return blocks.map((b) => trimBlank(b)).filter((b) => b.length);
}

const trimBlank = (lines) => {
  let a = 0;
  let z = lines.length;
  while (a < z && /^\s*$/.test(lines[a])) a++;
  while (z > a && /^\s*$/.test(lines[z - 1])) z--;
  return lines.slice(a, z);
};

/** A code cell's source as MDX blocks: folded imports, then the code in blocks of about CELL_CAP lines. */
export function codeCellMdx(source) {
  const lines = source.replace(/\n+$/, '').split('\n');
  const { imports, rest, statements } = splitImports(lines);
  const out = [];
  let body = lines;
  if (statements >= FOLD_IMPORTS_FROM) {
    const n = trimBlank(imports).length;
    out.push(`<details className="nb-imports">\n<summary>${statements} imports (${n} lines)</summary>\n\n${fence('ts', trimBlank(imports).join('\n'))}\n\n</details>`);
    body = rest;
  }
  const blocks = splitCell(body);
  blocks.forEach((b, i) => out.push(fence('ts', b.join('\n'), blocks.length > 1 ? `title="${i === 0 ? 'cell' : 'cell, continued'} (${i + 1}/${blocks.length})"` : '')));
  return out;
}

/** What one output shows: text (merged with its neighbours), or a finished MDX block. */
function outputPiece(o, ctx) {
  if (o.output_type === 'stream') return o.name === 'stdout' ? { text: src(o.text) } : null;
  if (o.output_type === 'error') return { text: `${o.ename}: ${o.evalue}\n` };
  const d = o.data;
  if (!d) return null;
  if (d['application/vnd.plotly.v1+json']) {
    const id = `${ctx.slug}-${ctx.figures.length + 1}`;
    const spec = d['application/vnd.plotly.v1+json'];
    ctx.figures.push({ id, json: JSON.stringify(spec), svg: d['image/svg+xml'] ? src(d['image/svg+xml']) : null });
    return { mdx: `<PlotlyChart id="${id}" title={${JSON.stringify(spec.layout?.title?.text ?? 'chart')}} />` };
  }
  if (d['text/markdown']) return { mdx: mdToMdx(src(d['text/markdown']), ctx.file) };
  if (d['text/html']) return { mdx: fence('html', src(d['text/html'])) };
  if (d['text/plain']) return { text: `${src(d['text/plain']).replace(/\n+$/, '')}\n` };
  return null;
}

/** A cell's outputs in order; runs of text outputs (stdout, plain-text displays, errors) become one block. */
export function outputsMdx(outputs, ctx) {
  const out = [];
  let text = '';
  const flush = () => {
    if (text.trim()) out.push(`<div className="nb-output">\n\n${fence('text', text)}\n\n</div>`);
    text = '';
  };
  for (const o of outputs ?? []) {
    const p = outputPiece(o, ctx);
    if (!p) continue;
    if (p.text !== undefined) text += p.text;
    else { flush(); out.push(p.mdx); }
  }
  flush();
  return out;
}

/** The `## ` headings of a markdown text, outside fenced code. */
function headings(md) {
  let inFence = false;
  const hs = [];
  for (const l of md.split('\n')) {
    if (/^```/.test(l)) inFence = !inFence;
    else if (!inFence && /^## /.test(l)) hs.push(l.slice(3).trim());
  }
  return hs;
}

/** Does heading `h` name the section `wanted` (the heading's start, case and TeX dollars ignored)? */
const sectionMatches = (h, wanted) => h.replace(/\$/g, '').toLowerCase().startsWith(wanted.replace(/\$/g, '').toLowerCase());

/**
 * Convert one executed notebook. `course` is its entry in course.json. Returns the page and the figures it refers
 * to; throws naming course.json's field when an explorable's section is not one of the notebook's headings.
 * @returns {{ mdx: string, title: string, figures: { id: string, json: string, svg: string | null }[] }}
 */
export function notebookToMdx(nb, { slug, file, course, courseFile }) {
  const n = Number(slug.slice(0, 2));
  const title = plainTitle((/^#\s+(.*)$/m.exec(src(nb.cells[0]?.source))?.[1] ?? slug).replace(/^\d+\s*·\s*/, ''));
  const ctx = { slug, file, figures: [] };
  const components = [...new Set(course.explorables.map((e) => e.component))];
  const parts = [
    '---',
    `title: ${JSON.stringify(`${n} · ${title}`)}`,
    `sidebar_label: ${JSON.stringify(`${n} · ${title}`)}`,
    `description: ${JSON.stringify(`Notebook ${n} of LoRA Lab: ${title}. ${course.objective}`)}`,
    `slug: /notebooks/${slug}`,
    '---',
    "import PlotlyChart from '@site/src/components/PlotlyChart';",
    "import Math from '@site/src/components/Math';",
    "import { LessonIntro, LessonTakeaways } from '@site/src/components/Lesson';",
    ...components.map((c) => `import ${c} from '@site/src/components/${c}';`),
    '',
    '<LessonIntro slug="SLUG" figures={FIGURES} />', // filled in once the figures are counted
    '',
  ];
  const intro = parts.length - 2;
  const pending = [...course.explorables];
  const seen = [];
  let section = null;
  /** Place the explorables of the section that is ending. */
  const closeSection = () => {
    for (let i = 0; i < pending.length; i++) {
      if (section !== null && sectionMatches(section, pending[i].section)) {
        parts.push(`<div className="nb-explorable" data-explorable="${pending[i].component}">\n\n<${pending[i].component} />\n\n</div>`, '');
        pending.splice(i--, 1);
      }
    }
  };
  nb.cells.forEach((c, ci) => {
    let text = src(c.source);
    if (c.cell_type === 'markdown') {
      if (ci === 0) text = text.replace(/^#\s+.*\n?/, ''); // the title is the page title
      // split at `## ` headings so that a section's explorables go just before the next section starts
      const chunks = text.split(/\n(?=## )/);
      for (const chunk of chunks) {
        const h = headings(chunk)[0];
        if (h !== undefined && /^## /.test(chunk)) { closeSection(); section = h; seen.push(h); }
        parts.push(mdToMdx(chunk, file), '');
      }
      return;
    }
    parts.push(...codeCellMdx(text).flatMap((p) => [p, '']));
    parts.push(...outputsMdx(c.outputs, ctx).flatMap((p) => [p, '']));
  });
  closeSection();
  if (pending.length) {
    const i = course.explorables.indexOf(pending[0]);
    throw new Error(`${courseFile}: notebooks.${slug}.explorables[${i}].section: expected the start of a '## ' heading of ${file}, got ${JSON.stringify(pending[0].section)}; its headings are ${seen.map((h) => JSON.stringify(h)).join(', ')}`);
  }
  parts.push(`<LessonTakeaways slug="${slug}" />`, '');
  parts[intro] = `<LessonIntro slug="${slug}" figures={${ctx.figures.length}} />`;
  return { mdx: `${parts.join('\n')}\n`, title, figures: ctx.figures };
}

