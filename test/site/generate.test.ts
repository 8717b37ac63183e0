/**
 * The site's build scripts without a browser: notebooks/course.json is checked field by field; a notebook becomes a
 * page with its imports folded, long cells split at statement ends, consecutive text outputs merged and explorables
 * at the end of the section course.json names; the build's precompression and the site's server (Content-Encoding
 * by Accept-Encoding, caching, downloads, routes, no escape from build/); the explorables' numbers agree with LoRA
 * Lab's own functions.
 */
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCourse, loadCourse } from '../../site/scripts/course.mjs';
import { codeCellMdx, notebookToMdx, outputsMdx, splitCell, splitImports, statementBreaks, CELL_CAP } from '../../site/scripts/notebook.mjs';
import { compressTree } from '../../site/scripts/compress.mjs';
import { createSiteServer, pickEncoding, resolvePath } from '../../site/scripts/serve.mjs';
import { hoverTemplate, readableFigure } from '../../site/src/components/readableFigure.ts';
import * as lora from '../../site/src/components/loraModel.ts';
import { quantizeAs, sampleWeights } from '../../site/src/components/nf4Model.ts';
import { svdJacobi } from '../../lib/src/linalg/svd.ts';
import { figureToSvg, NARROW } from '../../lib/src/viz/svg.ts';
import { lineChart } from '../../lib/src/viz/figure.ts';
import { loraScaling } from '../../lib/src/layers/lora.ts';
import { quantize4bit, bitsPerParameter } from '../../lib/src/quant/quantize4bit.ts';

const root = join(import.meta.dirname, '../..');
const slugs = ['01-a', '02-b'];
const entry = { objective: 'o', minutes: 10, prerequisites: ['p'], learn: ['l'], takeaways: ['t'] };
const courseText = (over: Record<string, unknown> = {}, demos: Record<string, unknown> = { d1: { title: 'D', objective: 'o', notebooks: ['01-a'] } }) =>
  JSON.stringify({ notebooks: { '01-a': entry, '02-b': entry, ...over }, demos });

describe('notebooks/course.json', () => {
  it('the committed course.json covers every notebook', () => {
    const nbs = ['01-why-fine-tune', '02-resource-bottlenecks', '03-lora-idea', '04-lora-mathematics', '05-adapters-prefix-lora', '06-qlora', '07-practice', '08-experiments-interviews'];
    const c = loadCourse(join(root, 'notebooks/course.json'), nbs);
    expect(Object.keys(c.notebooks)).toEqual(nbs);
    for (const n of nbs) expect(c.notebooks[n].takeaways.length).toBeGreaterThan(0);
  });

  it('parses a good file and fills the optional lists', () => {
    const c = parseCourse(courseText({ '02-b': { ...entry, demos: ['d1'], explorables: [{ component: 'Nf4Explorer', section: 'NF4' }] } }), 'c.json', slugs);
    expect(c.notebooks['01-a'].demos).toEqual([]);
    expect(c.notebooks['02-b'].explorables).toEqual([{ component: 'Nf4Explorer', section: 'NF4' }]);
    expect(c.demos.d1.notebooks).toEqual(['01-a']);
  });

  it.each([
    ['not JSON', '{', /^c\.json: is not JSON/],
    ['a missing notebook', JSON.stringify({ notebooks: { '01-a': entry }, demos: {} }), /^c\.json: notebooks\.02-b: expected an entry for notebooks\/02-b\.ipynb/],
    ['an unknown notebook', courseText({ '09-z': entry }), /^c\.json: notebooks\.09-z: expected a notebook in notebooks\//],
    ['minutes as text', courseText({ '01-a': { ...entry, minutes: '10' } }), /^c\.json: notebooks\.01-a\.minutes: expected a whole number of minutes from 1 to 600, got "10"$/],
    ['an empty takeaway', courseText({ '01-a': { ...entry, takeaways: ['ok', ' '] } }), /^c\.json: notebooks\.01-a\.takeaways\[1\]: expected a non-empty string, got " "$/],
    ['no learn list', courseText({ '01-a': { ...entry, learn: [] } }), /^c\.json: notebooks\.01-a\.learn: expected a list of at least 1 strings, got \[\]$/],
    ['an unknown demo', courseText({ '01-a': { ...entry, demos: ['nope'] } }), /^c\.json: notebooks\.01-a\.demos\[0\]: expected one of the demos \(d1\), got "nope"$/],
    ['an unknown component', courseText({ '01-a': { ...entry, explorables: [{ component: 'Foo', section: 's' }] } }), /^c\.json: notebooks\.01-a\.explorables\[0\]\.component: expected one of LoraRankExplorer, LoraScalingExplorer, Nf4Explorer, got "Foo"$/],
    ['a demo naming no notebook', courseText({}, { d1: { title: 'D', objective: 'o', notebooks: ['07-x'] } }), /^c\.json: demos\.d1\.notebooks\[0\]: expected one of the notebooks/],
  ])('refuses %s with one error naming the field', (_, text, message) => {
    expect(() => parseCourse(text, 'c.json', slugs)).toThrow(message);
  });
});

describe('notebook to MDX', () => {
  it('folds three or more leading imports, multi-line ones included, and leaves the rest of the cell', () => {
    const src = "import { a } from 'x';\n// the model\nimport {\n  b,\n  c,\n} from 'y';\nimport * as tf from '@tensorflow/tfjs';\nconst z = a(b);";
    const { imports, rest, statements } = splitImports(src.split('\n'));
    expect(statements).toBe(3);
    expect(imports).toHaveLength(7);
    expect(rest).toEqual(['const z = a(b);']);
    const mdx = codeCellMdx(src);
    expect(mdx[0]).toMatch(/^<details className="nb-imports">\n<summary>3 imports \(7 lines\)<\/summary>/);
    expect(mdx[1]).toBe('```ts\nconst z = a(b);\n```');
    // two imports stay in the cell
    expect(codeCellMdx("import { a } from 'x';\nimport { b } from 'y';\na(b);")).toHaveLength(1);
  });

  it('finds statement ends outside brackets, strings, templates and comments, not before a continuation line', () => {
    const lines = ['const a = f(', '  1, ")(",', ');', 'const s = `${a}', '(`;', 'x', '  .map((v) => v); // )', 'y;'];
    expect(statementBreaks(lines)).toEqual([3, 5, 7]);
  });

  it('splits a long cell into blocks of at most CELL_CAP lines at statement ends, preferring blank lines', () => {
    const stmt = (i: number) => [`const v${i} = f({`, `  a: ${i},`, '});'];
    const lines = Array.from({ length: 12 }, (_, i) => [...stmt(i), ...(i === 4 ? [''] : [])]).flat(); // 37 lines
    expect(lines).toHaveLength(37);
    const blocks = splitCell(lines);
    expect(blocks.map((b) => b.length)).toEqual([15, 21]); // the rest is within the slack of 4
    for (const b of blocks) expect(b.length).toBeLessThanOrEqual(CELL_CAP + 4);
    expect(blocks[0].at(-1)).toBe('});');
    expect(blocks[0]).toHaveLength(15); // up to the blank line after statement 4
    expect(blocks.flat()).toEqual(lines.filter((l) => l !== ''));
    // a cell just over the cap stays whole rather than leave a short tail
    expect(splitCell(Array.from({ length: CELL_CAP + 3 }, (_, i) => `f(${i});`))).toHaveLength(1);
  });

  it('merges consecutive text outputs into one block and keeps charts between them', () => {
    const ctx = { slug: '06-q', file: 'nb.ipynb', figures: [] as { id: string }[] };
    const out = outputsMdx([
      { output_type: 'stream', name: 'stdout', text: ['a\n', 'b\n'] },
      { output_type: 'stream', name: 'stdout', text: 'c\n' },
      { output_type: 'stream', name: 'stderr', text: 'noise\n' },
      { output_type: 'display_data', data: { 'text/plain': 'd' } },
      { output_type: 'display_data', data: { 'application/vnd.plotly.v1+json': { data: [], layout: { title: { text: 'T' } } } } },
      { output_type: 'stream', name: 'stdout', text: 'e\n' },
    ], ctx);
    expect(out).toEqual([
      '<div className="nb-output">\n\n```text\na\nb\nc\nd\n```\n\n</div>',
      '<PlotlyChart id="06-q-1" title={"T"} />',
      '<div className="nb-output">\n\n```text\ne\n```\n\n</div>',
    ]);
    expect(ctx.figures.map((f) => f.id)).toEqual(['06-q-1']);
  });

  const nb = { cells: [
    { cell_type: 'markdown', source: '# 3 · Title\n\nIntro.\n\n## First part\n\nText.' },
    { cell_type: 'code', source: 'f();', outputs: [{ output_type: 'stream', name: 'stdout', text: 'x\n' }] },
    { cell_type: 'markdown', source: '## Second part, with $r$\n\nMore.' },
    { cell_type: 'code', source: 'g();', outputs: [] },
  ] };
  const course = { ...entry, demos: [], explorables: [{ component: 'LoraRankExplorer', section: 'first PART' }, { component: 'Nf4Explorer', section: 'Second part, with r' }] };

  it('frames the page with the lesson intro and takeaways and places each explorable at the end of its section', () => {
    const { mdx, title } = notebookToMdx(nb, { slug: '03-x', file: 'notebooks/03-x.ipynb', course, courseFile: 'notebooks/course.json' });
    expect(title).toBe('Title');
    const at = (s: string) => mdx.indexOf(s);
    expect(at("import LoraRankExplorer from '@site/src/components/LoraRankExplorer';")).toBeGreaterThan(0);
    expect(at('<LessonIntro slug="03-x" figures={0} />')).toBeLessThan(at('## First part'));
    expect(at('```text\nx\n```')).toBeLessThan(at('<LoraRankExplorer />'));
    expect(at('<LoraRankExplorer />')).toBeLessThan(at('## Second part'));
    expect(at('<Nf4Explorer />')).toBeGreaterThan(at('g();'));
    expect(at('<Nf4Explorer />')).toBeLessThan(at('<LessonTakeaways slug="03-x" />'));
  });

  it('refuses an explorable whose section is not a heading of the notebook, naming course.json and the headings', () => {
    const bad = { ...course, explorables: [course.explorables[0], { component: 'Nf4Explorer', section: 'Third' }] };
    expect(() => notebookToMdx(nb, { slug: '03-x', file: 'notebooks/03-x.ipynb', course: bad, courseFile: 'notebooks/course.json' }))
      .toThrow(/^notebooks\/course\.json: notebooks\.03-x\.explorables\[1\]\.section: expected the start of a '## ' heading of notebooks\/03-x\.ipynb, got "Third"; its headings are "First part", "Second part, with \$r\$"$/);
  });
});

describe('charts made readable', () => {
  const fig = { data: [{ type: 'scatter', name: 'err %', x: [1, 2], y: [3, 4] }, { type: 'bar', name: 'b', x: ['a', 'b'], y: [1, 2], yaxis: 'y2' }, { type: 'heatmap', z: [[1]] }], layout: { title: { text: 'T' }, xaxis: { title: { text: 'rank r' } }, yaxis: { title: { text: 'error (%)' } }, yaxis2: { title: { text: 'bytes' } }, height: 380, margin: { l: 70, r: 30, t: 50, b: 60 } } };
  it('labels tooltips with the axis titles and takes the title out of the plot', () => {
    const f = readableFigure(fig, 1000) as { data: { hovertemplate: string }[]; layout: { title?: unknown; margin: { t: number }; legend?: unknown } };
    expect(f.data[0].hovertemplate).toBe('rank r: %{x:,.4~r}<br>error (%%): %{y:,.4~r}<extra>err %%</extra>');
    expect(f.data[1].hovertemplate).toBe('rank r: %{x}<br>bytes: %{y:,.4~r}<extra>b</extra>');
    expect(f.data[2].hovertemplate).toBe('rank r %{x}, error (%%) %{y}<br>value: %{z:,.4~r}<extra></extra>');
    expect(f.layout.title).toBeUndefined();
    expect(f.layout.margin.t).toBe(30);
    expect(f.layout.legend).toBeUndefined();
    expect((readableFigure(fig, 390).layout as { legend: { orientation: string } }).legend.orientation).toBe('h');
    // a trace's own template is kept
    expect(hoverTemplate({ type: 'scatter' }, {})).toBe('x: %{x:,.4~r}<br>y: %{y:,.4~r}<extra></extra>');
  });
});

describe("LoRA Lab's SVG renderer, as the explorables use it", () => {
  const fig = lineChart({ title: 'T<1>', x: 'x', y: 'y', series: [{ name: 'a', x: [1, 2, NaN, 3, 4], y: [1, 2, 3, 4, 5] }, { name: 'b', x: [1, 4], y: [2, 2] }] });
  it('leaves the title to the page when asked, and breaks a line at a point that is not a number', () => {
    expect(figureToSvg(fig)).toContain('>T&lt;1&gt;</text>');
    const svg = figureToSvg(fig, { title: false });
    expect(svg).not.toContain('T&lt;1&gt;');
    expect(svg.match(/<polyline/g)).toHaveLength(3); // a: two runs, b: one
  });
  it('puts the legend under the plot on a narrow figure, so the plot keeps its width', () => {
    const wide = figureToSvg(fig, { width: 720, height: 300 });
    const narrow = figureToSvg(fig, { width: NARROW - 130, height: 300 });
    expect(wide).toContain('height="300"');
    expect(narrow).toContain('height="336"'); // two legend rows of 18
    const rectX = (s: string) => Number(/<rect x="([\d.]+)" y="[\d.]+" width="12"/.exec(s)![1]);
    expect(rectX(wide)).toBeGreaterThan(500);
    expect(rectX(narrow)).toBe(70);
  });
});

describe('precompressed build and the site server', () => {
  let dir: string;
  let base: string;
  let close: () => void;
  const big = 'LoRA Lab '.repeat(2000);
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'loralab-site-'));
    mkdirSync(join(dir, 'notebooks/src'), { recursive: true });
    mkdirSync(join(dir, 'assets/js'), { recursive: true });
    mkdirSync(join(dir, 'vendor'), { recursive: true });
    writeFileSync(join(dir, 'index.html'), `<html>${big}</html>`);
    writeFileSync(join(dir, '404.html'), 'not here');
    writeFileSync(join(dir, 'notebooks/01-a.html'), `<p>${big}</p>`);
    writeFileSync(join(dir, 'notebooks/01-a.ipynb'), JSON.stringify({ cells: [], text: big }));
    writeFileSync(join(dir, 'notebooks/src/01-a.ts'), `// ${big}`);
    writeFileSync(join(dir, 'assets/js/main.abc.js'), `var x = "${big}";`);
    writeFileSync(join(dir, 'vendor/p.min.js'), 'tiny');
    writeFileSync(join(dir, 'img.png'), Buffer.alloc(4000, 1));
    const t = compressTree(dir);
    expect(t.files).toBe(5); // the png and the tiny files are left alone
    const server = createSiteServer(dir);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => server.close();
  });
  afterAll(() => { close?.(); rmSync(dir, { recursive: true, force: true }); });

  it('writes .br and .gz beside each compressible file, and none for small or binary files', () => {
    expect(brotliDecompressSync(readFileSync(join(dir, 'index.html.br'))).toString()).toBe(`<html>${big}</html>`);
    expect(gunzipSync(readFileSync(join(dir, 'index.html.gz'))).toString()).toBe(`<html>${big}</html>`);
    expect(existsSync(join(dir, 'vendor/p.min.js.br'))).toBe(false);
    expect(existsSync(join(dir, 'img.png.br'))).toBe(false);
  });

  it('picks brotli, then gzip, honouring q=0', () => {
    expect(pickEncoding('gzip, deflate, br, zstd')).toBe('br');
    expect(pickEncoding('gzip;q=1.0, br;q=0')).toBe('gzip');
    expect(pickEncoding('identity')).toBeNull();
    expect(pickEncoding(undefined)).toBeNull();
    expect(pickEncoding('*')).toBe('br');
  });

  it('serves the compressed file with Content-Encoding when accepted, the plain one otherwise', async () => {
    const br = await fetch(`${base}/notebooks/01-a`, { headers: { 'accept-encoding': 'br' } });
    expect(br.headers.get('content-encoding')).toBe('br');
    expect(br.headers.get('vary')).toBe('Accept-Encoding');
    expect(br.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await br.text()).toBe(`<p>${big}</p>`); // fetch decodes it
    const plain = await fetch(`${base}/notebooks/01-a`, { headers: { 'accept-encoding': 'identity' } });
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(Number(plain.headers.get('content-length'))).toBe(big.length + 7);
    const gz = await fetch(`${base}/`, { headers: { 'accept-encoding': 'gzip' } });
    expect(gz.headers.get('content-encoding')).toBe('gzip');
  });

  it('lets browsers keep hashed assets for good and revalidates pages with an ETag', async () => {
    const a = await fetch(`${base}/assets/js/main.abc.js`);
    expect(a.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(a.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const page = await fetch(`${base}/`, { headers: { 'accept-encoding': 'br' } });
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const again = await fetch(`${base}/`, { headers: { 'accept-encoding': 'br', 'if-none-match': page.headers.get('etag')! } });
    expect(again.status).toBe(304);
    const otherEncoding = await fetch(`${base}/`, { headers: { 'accept-encoding': 'gzip', 'if-none-match': page.headers.get('etag')! } });
    expect(otherEncoding.status).toBe(200);
  });

  it('sends notebooks as downloads and TypeScript as text; unknown paths get 404.html; nothing outside build/', async () => {
    const nb = await fetch(`${base}/notebooks/01-a.ipynb`);
    expect(nb.status).toBe(200);
    expect(nb.headers.get('content-disposition')).toBe('attachment; filename="01-a.ipynb"');
    expect(nb.headers.get('content-type')).toBe('application/x-ipynb+json');
    expect((await fetch(`${base}/notebooks/src/01-a.ts`)).headers.get('content-type')).toBe('text/plain; charset=utf-8');
    const missing = await fetch(`${base}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe('not here');
    expect(resolvePath(dir, '/../../etc/passwd')).toBeNull();
    expect(resolvePath(dir, '/%2e%2e/%2e%2e/etc/passwd')).toBeNull();
    expect(resolvePath(dir, '/%E0%A4%A')).toBeNull();
    expect((await fetch(`${base}/`, { method: 'POST' })).status).toBe(405);
    const head = await fetch(`${base}/`, { method: 'HEAD', headers: { 'accept-encoding': 'br' } });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });
});

describe("the explorables' numbers are LoRA Lab's", () => {
  it('the rank explorer: Eckart–Young from the SVD equals the error of the rebuilt matrix, and γ is loraScaling', () => {
    for (const decay of [0, 0.5, 1.5]) {
      const s = lora.spectrum(decay);
      expect(Array.from(s.svd.S)).toEqual(Array.from(svdJacobi(lora.makeUpdate(decay), lora.D, lora.K).S));
      for (const r of [1, 8, 24, 40]) expect(lora.relativeError(s, r)).toBeCloseTo(lora.measuredError(s.M, lora.truncated(s, r)), 6);
      // the planted rank: past it only the noise is left — a cliff, unless the decay has sunk the last directions into the noise
      if (decay < 1) expect(s.svd.S[lora.PLANTED_RANK]).toBeLessThan((decay === 0 ? 0.1 : 0.3) * s.svd.S[lora.PLANTED_RANK - 1]);
      expect(s.svd.S[lora.PLANTED_RANK]).toBeLessThan(0.05);
    }
    for (const [r, a] of [[8, 16], [64, 16], [3, 7]]) {
      expect(lora.gamma(r, a, false)).toBe(loraScaling(r, a));
      expect(lora.gamma(r, a, true)).toBe(loraScaling(r, a, true));
    }
    expect(lora.loraParams(64).share).toBeCloseTo(1.6667, 4); // the demo's "166.7 %"
    expect(lora.loraParams(64).breakEven).toBeCloseTo(38.4, 6);
  });

  it('the scaling explorer: the update grows like √r before γ, so α/r shrinks it like 1/√r and α/√r holds it near α (notebook 4)', () => {
    for (const r of lora.SCALING_RANKS) expect(lora.rmsBAx(r) / Math.sqrt(r)).toBeGreaterThan(0.85), expect(lora.rmsBAx(r) / Math.sqrt(r)).toBeLessThan(1.15);
    expect(lora.updateRms(1, 16, false)).toBeGreaterThan(13); // "about 16 at r = 1"
    expect(lora.updateRms(128, 16, false)).toBeCloseTo(16 / Math.sqrt(128), 0); // "about 1.4 at r = 128"
    for (const r of lora.SCALING_RANKS) expect(lora.updateRms(r, 16, true) / 16).toBeGreaterThan(0.85);
  });

  it('the NF4 explorer: NF4 and FP4 are quantize4bit, bits are bitsPerParameter; int4 has the larger error, as in notebook 6', () => {
    const x = sampleWeights('normal', 16384);
    for (const dq of [false, true]) for (const t of ['nf4', 'fp4'] as const) {
      const q = quantizeAs(x, t, 64, dq);
      const ref = quantize4bit(x, { quantType: t, blocksize: 64, doubleQuant: dq, trace: true });
      expect(Array.from(q.dequantized)).toEqual(Array.from(ref.trace.dequantized));
      expect(q.bits).toBe(bitsPerParameter(ref.state).total);
    }
    expect(quantizeAs(x, 'nf4', 64, false).bits).toBe(4.5);
    expect(quantizeAs(x, 'int4', 64, false).bits).toBe(4.5);
    expect(quantizeAs(x, 'int4', 64, true).bits).toBeCloseTo(quantizeAs(x, 'nf4', 64, true).bits, 12);
    expect(quantizeAs(x, 'int4', 64, false).relError).toBeGreaterThan(quantizeAs(x, 'nf4', 64, false).relError);
    // int4 dequantizes to k/7 · absmax
    const q = quantizeAs(x, 'int4', 64, false);
    expect(q.dequantized[5]).toBe(Math.fround(((q.codes[5] - 7) / 7) * q.absmax[0]));
  });
});
