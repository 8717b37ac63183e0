/**
 * Plotly figure specs, built as plain data: `{ data, layout }` is exactly what `Plotly.newPlot(div, data, layout)`
 * takes, what JupyterLab's `application/vnd.plotly.v1+json` renderer takes, and what the site renders. Only the subset
 * of trace types LoRA Lab's charts use is typed here; every chart gets a title and axis titles.
 */
import { ShapeError } from '../util/errors.js';

export interface ScatterTrace {
  type: 'scatter';
  name?: string;
  x: (number | string)[];
  y: number[];
  mode?: 'lines' | 'markers' | 'lines+markers' | 'text' | 'markers+text';
  text?: string[];
  line?: { dash?: 'solid' | 'dash' | 'dot'; width?: number; color?: string };
  marker?: { size?: number; color?: string };
  yaxis?: 'y' | 'y2';
}

export interface BarTrace {
  type: 'bar';
  name?: string;
  x: (number | string)[];
  y: number[];
  text?: string[];
  width?: number;
  marker?: { color?: string };
}

export interface HeatmapTrace {
  type: 'heatmap';
  name?: string;
  z: number[][];
  x?: (number | string)[];
  y?: (number | string)[];
  colorscale?: string;
  zmid?: number;
}

export type Trace = ScatterTrace | BarTrace | HeatmapTrace;

export interface Axis {
  title: { text: string };
  type?: 'linear' | 'log' | 'category';
  range?: [number, number];
  tickformat?: string;
  overlaying?: 'y';
  side?: 'left' | 'right';
}

export interface Layout {
  title: { text: string };
  xaxis: Axis;
  yaxis: Axis;
  yaxis2?: Axis;
  barmode?: 'group' | 'stack' | 'overlay';
  bargap?: number;
  width?: number;
  height: number;
  showlegend?: boolean;
  margin?: { l: number; r: number; t: number; b: number };
}

export interface Figure {
  data: Trace[];
  layout: Layout;
}

export interface AxisOptions {
  title: string;
  log?: boolean;
  range?: [number, number];
  tickformat?: string;
}

const axis = (a: AxisOptions | string): Axis => {
  const o = typeof a === 'string' ? { title: a } : a;
  return { title: { text: o.title }, ...(o.log ? { type: 'log' as const } : {}), ...(o.range ? { range: o.range } : {}), ...(o.tickformat ? { tickformat: o.tickformat } : {}) };
};

const layout = (title: string, x: AxisOptions | string, y: AxisOptions | string, extra: Partial<Layout> = {}): Layout => ({
  title: { text: title },
  xaxis: axis(x),
  yaxis: axis(y),
  height: 380,
  margin: { l: 70, r: 30, t: 50, b: 60 },
  ...extra,
});

export interface Series {
  name: string;
  x: (number | string)[];
  y: number[];
  mode?: ScatterTrace['mode'];
  dash?: 'solid' | 'dash' | 'dot';
  text?: string[];
}

/** Lines (or markers) over a shared x axis: loss curves, error vs rank, sweeps. */
export function lineChart(o: { title: string; x: AxisOptions | string; y: AxisOptions | string; series: Series[] }): Figure {
  return {
    data: o.series.map((s) => ({
      type: 'scatter', name: s.name, x: s.x, y: s.y, mode: s.mode ?? 'lines',
      ...(s.text ? { text: s.text } : {}), ...(s.dash ? { line: { dash: s.dash } } : {}),
    })),
    layout: layout(o.title, o.x, o.y, { showlegend: o.series.length > 1 }),
  };
}

/** Bars per category, grouped or stacked: memory by component, parameters by method. */
export function barChart(o: {
  title: string; x: AxisOptions | string; y: AxisOptions | string; categories: string[];
  series: { name: string; values: number[] }[]; stacked?: boolean; text?: (v: number) => string;
}): Figure {
  for (const s of o.series) if (s.values.length !== o.categories.length) throw new ShapeError(`series '${s.name}' has ${s.values.length} values for ${o.categories.length} categories`, { file: `barChart '${o.title}'`, expected: 'one value per category' });
  return {
    data: o.series.map((s) => ({ type: 'bar', name: s.name, x: o.categories, y: s.values, ...(o.text ? { text: s.values.map(o.text) } : {}) })),
    layout: layout(o.title, o.x, o.y, { barmode: o.stacked ? 'stack' : 'group', showlegend: o.series.length > 1 }),
  };
}

/**
 * Histogram, binned here (not by Plotly) so that the figure stays small whatever the sample size and the static
 * rendering shows the same bars. Bins are `bins` equal widths over [min, max] of all series together.
 */
export function histogram(o: { title: string; x: AxisOptions | string; y?: string; series: { name: string; values: ArrayLike<number> }[]; bins?: number; range?: [number, number] }): Figure {
  const bins = o.bins ?? 50;
  let lo = o.range?.[0] ?? Infinity;
  let hi = o.range?.[1] ?? -Infinity;
  if (!o.range) for (const s of o.series) for (let i = 0; i < s.values.length; i++) {
    const v = s.values[i];
    if (Number.isFinite(v)) { if (v < lo) lo = v; if (v > hi) hi = v; }
  }
  // a range too narrow to split (one value, or subnormal differences whose bin width underflows to 0) gets width 1
  if (!(hi > lo) || !((hi - lo) / bins > 0)) hi = lo + 1;
  const w = (hi - lo) / bins;
  const centers = Array.from({ length: bins }, (_, i) => lo + (i + 0.5) * w);
  const data: BarTrace[] = o.series.map((s) => {
    const counts = new Array<number>(bins).fill(0);
    for (let i = 0; i < s.values.length; i++) {
      const v = s.values[i];
      if (!Number.isFinite(v) || v < lo || v > hi) continue;
      counts[Math.max(0, Math.min(bins - 1, Math.floor((v - lo) / w)))]++;
    }
    return { type: 'bar', name: s.name, x: centers.map((c) => Number(c.toPrecision(6))), y: counts, width: w };
  });
  return { data, layout: layout(o.title, o.x, o.y ?? 'count', { barmode: 'overlay', bargap: 0, showlegend: o.series.length > 1 }) };
}

/** A matrix as a heatmap (row 0 at the top, as a matrix is read). */
export function heatmap(o: { title: string; z: number[][]; x?: string; y?: string; zmid?: number }): Figure {
  const l = layout(o.title, o.x ?? 'column', o.y ?? 'row');
  return {
    data: [{ type: 'heatmap', z: o.z, colorscale: 'RdBu', ...(o.zmid !== undefined ? { zmid: o.zmid } : {}) }],
    layout: { ...l, yaxis: { ...l.yaxis, range: [o.z.length - 0.5, -0.5] } },
  };
}

/** Rows of a Float32Array-like matrix [rows, cols], for heatmaps. */
export function toRows(values: ArrayLike<number>, rows: number, cols: number): number[][] {
  return Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, c) => values[r * cols + c]));
}
