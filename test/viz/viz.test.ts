import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { barChart, figureBundle, figureToSvg, heatmap, histogram, lineChart, niceTicks, PLOTLY_MIME, toRows } from 'loralab/viz';

describe('figure specs', () => {
  it('a line chart carries its title, axis titles and series as Plotly traces', () => {
    const f = lineChart({ title: 'loss', x: 'step', y: { title: 'loss', log: true }, series: [{ name: 'a', x: [1, 2], y: [3, 4] }, { name: 'b', x: [1, 2], y: [5, 6], dash: 'dash' }] });
    expect(f.layout.title.text).toBe('loss');
    expect(f.layout.yaxis).toEqual({ title: { text: 'loss' }, type: 'log' });
    expect(f.data).toEqual([
      { type: 'scatter', name: 'a', x: [1, 2], y: [3, 4], mode: 'lines' },
      { type: 'scatter', name: 'b', x: [1, 2], y: [5, 6], mode: 'lines', line: { dash: 'dash' } },
    ]);
  });

  it('a bar chart refuses a series whose length does not match the categories', () => {
    expect(() => barChart({ title: 'mem', x: 'method', y: 'GB', categories: ['full', 'lora'], series: [{ name: 'w', values: [1] }] })).toThrow(/series 'w' has 1 values for 2 categories/);
  });

  it('a histogram keeps every finite sample in exactly one bin', () => {
    fc.assert(fc.property(fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 64 }), (xs, bins) => {
      const f = histogram({ title: 'h', x: 'v', series: [{ name: 's', values: xs }], bins });
      const ys = f.data[0].type === 'bar' ? f.data[0].y : [];
      expect(ys.length).toBe(bins);
      expect(ys.reduce((a, b) => a + b, 0)).toBe(xs.length);
    }));
  });

  it('heatmap rows read top to bottom and toRows slices row-major values', () => {
    const z = toRows([1, 2, 3, 4, 5, 6], 2, 3);
    expect(z).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(heatmap({ title: 'w', z }).layout.yaxis.range).toEqual([1.5, -0.5]);
  });
});

describe('static SVG fallback', () => {
  it('nice ticks are 1-2-5 steps that cover the range', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6000000000000001, 0.8, 1].map((v) => Number(v.toPrecision(12))));
    expect(niceTicks(0, 97)).toEqual([0, 20, 40, 60, 80]);
  });

  it('renders every chart type as one well-formed <svg> with the titles, escaped', () => {
    const figs = [
      lineChart({ title: 'a < b & c', x: 'x', y: 'y', series: [{ name: 's', x: [1, 2, 3], y: [1, 4, 9], mode: 'lines+markers' }] }),
      barChart({ title: 'bars', x: 'm', y: 'GB', categories: ['full', 'lora'], series: [{ name: 'w', values: [3, 1] }, { name: 'g', values: [2, 0] }], stacked: true }),
      histogram({ title: 'hist', x: 'v', series: [{ name: 's', values: [0, 1, 1, 2] }], bins: 3 }),
      heatmap({ title: 'heat', z: [[1, -1], [0, 2]], zmid: 0 }),
      lineChart({ title: 'log', x: { title: 'r', log: true }, y: { title: 'err', log: true }, series: [{ name: 's', x: [1, 10, 100], y: [1, 0.1, 0.01] }] }),
    ];
    for (const f of figs) {
      const svg = figureToSvg(f);
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      expect(svg.endsWith('</svg>')).toBe(true);
      expect(svg).not.toMatch(/NaN|undefined|Infinity/);
      expect(svg).toContain(f.layout.xaxis.title.text);
    }
    expect(figureToSvg(figs[0])).toContain('a &lt; b &amp; c');
    expect(figureToSvg(figs[1]).match(/<rect /g)!.length).toBeGreaterThanOrEqual(1 + 4);
  });

  it('a notebook bundle has the Plotly spec, the SVG and a text form', () => {
    const f = lineChart({ title: 'loss', x: 'step', y: 'loss', series: [{ name: 'train', x: [1, 2], y: [2.5, 2] }] });
    const b = figureBundle(f);
    expect(b[PLOTLY_MIME]).toBe(f);
    expect(String(b['image/svg+xml'])).toMatch(/^<svg/);
    expect(b['text/plain']).toBe('loss\n  train: 1: 2.5, 2: 2');
  });
});
