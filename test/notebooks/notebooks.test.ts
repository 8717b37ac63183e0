/**
 * Every notebook runs top to bottom through the real tslab kernel (Debian's Jupyter client, the kernel spec in the
 * project-local .jupyter/), must produce no error, and must reproduce its committed outputs in every cell not tagged
 * "nondeterministic". The .ipynb must also match its percent-format source in notebooks/src/.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM script without types
import { notebookNames, parsePercent } from '../../scripts/notebook-sources.mjs';

const root = join(import.meta.dirname, '../..');
const names: string[] = notebookNames();
const PYTHON = '/usr/bin/python3'; // Debian's, which has python3-nbclient (a pyenv python may not)

interface Cell { cell_type: string; source: string | string[]; metadata: { tags?: string[] }; outputs?: { output_type: string; data?: Record<string, unknown> }[] }
const src = (c: Cell) => (Array.isArray(c.source) ? c.source.join('') : c.source);
const load = (n: string) => JSON.parse(readFileSync(join(root, 'notebooks', `${n}.ipynb`), 'utf8')) as { cells: Cell[]; metadata: { kernelspec: { name: string } } };

describe('notebooks', () => {
  let jupyterPath = '';
  beforeAll(() => {
    jupyterPath = execFileSync(process.execPath, [join(root, 'scripts/jupyter.mjs'), 'setup'], { encoding: 'utf8' }).trim();
  });

  it('there are eight, one per section of the brief', () => {
    expect(names.map((n) => n.slice(0, 2))).toEqual(['01', '02', '03', '04', '05', '06', '07', '08']);
  });

  describe.each(names)('%s', (name) => {
    it('matches its source, teaches between cells, charts with Plotly and ends with exercises', () => {
      const nb = load(name);
      const cells = parsePercent(readFileSync(join(root, 'notebooks/src', `${name}.ts`), 'utf8')) as { cell_type: string; source: string; tags: string[] }[];
      expect(nb.cells.map((c) => [c.cell_type, src(c), c.metadata.tags ?? []])).toEqual(cells.map((c) => [c.cell_type, c.source, c.tags]));
      expect(nb.metadata.kernelspec.name).toBe('tslab');
      // markdown between code cells: never more than two code cells in a row
      let run = 0;
      for (const c of nb.cells) {
        run = c.cell_type === 'code' ? run + 1 : 0;
        expect(run, `${name}: three code cells in a row without a word of explanation`).toBeLessThanOrEqual(2);
      }
      const charts = nb.cells.flatMap((c) => c.outputs ?? []).filter((o) => o.data?.['application/vnd.plotly.v1+json']);
      expect(charts.length, `${name}: no Plotly chart in the committed outputs`).toBeGreaterThan(0);
      for (const o of charts) {
        const fig = o.data!['application/vnd.plotly.v1+json'] as { layout: { title: { text: string }; xaxis: { title: { text: string } }; yaxis: { title: { text: string } } } };
        expect(fig.layout.title.text.length && fig.layout.xaxis.title.text.length && fig.layout.yaxis.title.text.length, `${name}: a chart without title or axis titles`).toBeTruthy();
        expect(String(o.data!['image/svg+xml'])).toMatch(/^<svg /);
      }
      const last = nb.cells.at(-1)!;
      expect(last.cell_type).toBe('markdown');
      expect(src(last)).toMatch(/## Exercises[\s\S]*\(\.\.\/exercises\//);
      // every relative link from a notebook resolves to a file in the repository
      for (const c of nb.cells.filter((x) => x.cell_type === 'markdown')) {
        for (const [, target] of src(c).matchAll(/\]\((\.\.\/[^)#\s]+)\)/g)) expect(existsSync(join(root, 'notebooks', target)), `${name}: broken link ${target}`).toBe(true);
      }
    });

    it('runs through the tslab kernel without errors and reproduces its committed outputs', () => {
      const r = spawnSync(PYTHON, [join(root, 'scripts/notebooks.py'), 'check', join(root, 'notebooks', `${name}.ipynb`)], {
        encoding: 'utf8', env: { ...process.env, JUPYTER_PATH: jupyterPath }, timeout: 560_000, // a hang guard with room for a loaded 2-core machine, not a speed test
      });
      expect(r.error, `${name}: could not run ${PYTHON} (install python3-nbclient)`).toBeUndefined();
      expect(r.status, r.stderr).toBe(0);
      const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { seconds: number; errors: string[]; mismatches: number[] };
      expect(result.errors).toEqual([]);
      expect(result.mismatches, `${name}: these cells' outputs differ from the committed ones (re-run npm run notebooks and commit)`).toEqual([]);
    }, 600_000);
  });
});
