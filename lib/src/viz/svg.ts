/**
 * A static SVG rendering of a Figure: the fallback shown where a viewer cannot run Plotly (a notebook viewer that
 * strips scripts, classic Jupyter Notebook, a feed reader). It draws the same traces with the same titles; it does
 * not try to match Plotly pixel for pixel.
 */
import type { Axis, BarTrace, Figure, HeatmapTrace, ScatterTrace } from './figure.js';

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fmt = (v: number) => {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(1).replace('e+', 'e');
  return Number(v.toPrecision(4)).toString();
};

/** Narrower than this (pixels), a figure's legend goes under the plot. */
export const NARROW = 520;

/** "Nice" ticks (1, 2, 5 × 10^k) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

interface Scale { map(v: number | string): number; ticks: { at: number; label: string }[] }

function numericScale(ax: Axis, values: number[], a: number, b: number, includeZero: boolean): Scale {
  const log = ax.type === 'log';
  const vs = values.filter((v) => Number.isFinite(v) && (!log || v > 0));
  let lo = ax.range?.[0] ?? Math.min(...vs);
  let hi = ax.range?.[1] ?? Math.max(...vs);
  if (!vs.length) { lo = 0; hi = 1; }
  if (log) {
    const l0 = ax.range ? lo : Math.floor(Math.log10(lo));
    const l1 = ax.range ? hi : Math.ceil(Math.log10(hi));
    const span = l1 - l0 || 1;
    const ticks = [];
    for (let e = Math.ceil(l0); e <= l1; e++) ticks.push({ at: a + ((e - l0) / span) * (b - a), label: fmt(10 ** e) });
    return { map: (v) => a + ((Math.log10(Number(v)) - l0) / span) * (b - a), ticks };
  }
  if (includeZero) { lo = Math.min(lo, 0); hi = Math.max(hi, 0); }
  if (!(hi > lo)) { hi = lo + 1; }
  if (!ax.range) { const pad = (hi - lo) * 0.04; if (!(includeZero && lo === 0)) lo -= pad; hi += pad; }
  const map = (v: number | string) => a + ((Number(v) - lo) / (hi - lo)) * (b - a);
  return { map, ticks: niceTicks(lo, hi).map((t) => ({ at: map(t), label: fmt(t) })) };
}

function categoryScale(cats: string[], a: number, b: number): Scale & { band: number } {
  const band = (b - a) / Math.max(1, cats.length);
  const idx = new Map(cats.map((c, i) => [c, i]));
  const map = (v: number | string) => a + ((idx.get(String(v)) ?? 0) + 0.5) * band;
  return { map, band, ticks: cats.map((c) => ({ at: map(c), label: c })) };
}

/** The plot area in pixels: x0..x1 left to right, y0 (bottom) .. y1 (top). */
interface Box {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

/** Heatmap cells, blue (low) - white (zmid, else the middle of the range) - red (high). */
function heatmapCells(heat: HeatmapTrace, { x0, x1, y0, y1 }: Box, out: string[]): void {
  const rows = heat.z.length, cols = heat.z[0]?.length ?? 0;
  let lo = Infinity, hi = -Infinity;
  for (const r of heat.z) for (const v of r) if (Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  const mid = heat.zmid ?? (lo + hi) / 2;
  const span = Math.max(hi - mid, mid - lo) || 1;
  const cw = (x1 - x0) / cols, ch = (y0 - y1) / rows;
  heat.z.forEach((r, i) => r.forEach((v, j) => {
    const t = Math.max(-1, Math.min(1, (v - mid) / span));
    const c = t < 0 ? `rgb(${Math.round(255 * (1 + t))},${Math.round(255 * (1 + t))},255)` : `rgb(255,${Math.round(255 * (1 - t))},${Math.round(255 * (1 - t))})`;
    out.push(`<rect x="${(x0 + j * cw).toFixed(2)}" y="${(y1 + i * ch).toFixed(2)}" width="${(cw + 0.3).toFixed(2)}" height="${(ch + 0.3).toFixed(2)}" fill="${c}"/>`);
  }));
}

/** Bars (grouped, stacked or overlaid as the layout says), each trace in its colour. */
function barRects(fig: Figure, bars: BarTrace[], xs: Scale, ys: Scale, isCat: boolean, out: string[]): void {
  const stacked = fig.layout.barmode === 'stack';
  const base = new Map<string, number>();
  const groups = stacked || fig.layout.barmode === 'overlay' ? 1 : Math.max(1, bars.length);
  bars.forEach((b, k) => {
    const color = b.marker?.color ?? COLORS[fig.data.indexOf(b) % COLORS.length];
    b.x.forEach((x, i) => {
      let w: number, cx: number;
      if (isCat) { const band = (xs as Scale & { band: number }).band * 0.8; w = band / groups; cx = xs.map(x) - band / 2 + (groups > 1 ? k : 0) * w; }
      else { const bw = b.width ?? 1; w = Math.abs(xs.map(Number(x) + bw / 2) - xs.map(Number(x) - bw / 2)); cx = xs.map(Number(x)) - w / 2; }
      const from = stacked ? base.get(String(x)) ?? 0 : 0;
      const to = from + b.y[i];
      if (stacked) base.set(String(x), to);
      const ya = ys.map(from), yb = ys.map(to);
      out.push(`<rect x="${cx.toFixed(2)}" y="${Math.min(ya, yb).toFixed(2)}" width="${Math.max(0.5, w).toFixed(2)}" height="${Math.abs(ya - yb).toFixed(2)}" fill="${color}" fill-opacity="${fig.layout.barmode === 'overlay' && bars.length > 1 ? 0.55 : 0.9}"/>`);
    });
  });
}

/** Scatter traces: polylines broken where a point is not a finite number (as in Plotly), markers, text labels. */
function scatterMarks(fig: Figure, lines: ScatterTrace[], xs: Scale, ys: Scale, out: string[]): void {
  lines.forEach((l) => {
    const color = l.line?.color ?? l.marker?.color ?? COLORS[fig.data.indexOf(l) % COLORS.length];
    const all = l.x.map((x, i) => [xs.map(x), ys.map(l.y[i])]);
    const pts = all.filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b));
    const mode = l.mode ?? 'lines';
    const runs: number[][][] = [[]];
    for (const p of all) if (Number.isFinite(p[0]) && Number.isFinite(p[1])) runs[runs.length - 1].push(p); else if (runs[runs.length - 1].length) runs.push([]);
    if (mode.includes('lines')) for (const run of runs) if (run.length > 1) out.push(`<polyline fill="none" stroke="${color}" stroke-width="${l.line?.width ?? 2}"${l.line?.dash && l.line.dash !== 'solid' ? ` stroke-dasharray="${l.line.dash === 'dot' ? '2,3' : '6,4'}"` : ''} points="${run.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(' ')}"/>`);
    if (mode.includes('markers')) for (const [a, b] of pts) out.push(`<circle cx="${a.toFixed(1)}" cy="${b.toFixed(1)}" r="3.5" fill="${color}"/>`);
    if (mode.includes('text') && l.text) pts.forEach(([a, b], i) => out.push(`<text x="${a.toFixed(1)}" y="${(b - 7).toFixed(1)}" text-anchor="middle">${esc(l.text?.[i] ?? '')}</text>`));
  });
}

/** Bar and scatter traces on a shared x scale (categories if any x is text) and y scale, with gridlines and ticks. */
function barsAndLines(fig: Figure, { x0, x1, y0, y1 }: Box, out: string[]): void {
  const bars = fig.data.filter((t): t is BarTrace => t.type === 'bar');
  const lines = fig.data.filter((t): t is ScatterTrace => t.type === 'scatter');
  const all = [...bars, ...lines];
  const isCat = all.some((t) => t.x.some((v) => typeof v === 'string')) || fig.layout.xaxis.type === 'category';
  // Array.from, not spread: the site's Babel build spreads a Set in loose mode as [set]
  const cats = isCat ? Array.from(new Set(all.flatMap((t) => t.x.map(String)))) : [];
  const xs = isCat ? categoryScale(cats, x0, x1) : numericScale(fig.layout.xaxis, all.flatMap((t) => t.x.map(Number)), x0, x1, false);
  const yValues = fig.layout.barmode === 'stack'
    ? Array.from((() => { const s = new Map<string, number>(); for (const b of bars) b.x.forEach((x, i) => s.set(String(x), (s.get(String(x)) ?? 0) + b.y[i])); return s.values(); })())
    : all.flatMap((t) => t.y);
  const ys = numericScale(fig.layout.yaxis, [...yValues, ...lines.flatMap((t) => t.y)], y0, y1, bars.length > 0);
  for (const t of ys.ticks) out.push(`<line x1="${x0}" x2="${x1}" y1="${t.at.toFixed(1)}" y2="${t.at.toFixed(1)}" stroke="#eee"/><text x="${x0 - 6}" y="${(t.at + 4).toFixed(1)}" text-anchor="end">${esc(t.label)}</text>`);
  const every = Math.max(1, Math.ceil(xs.ticks.length / 12));
  xs.ticks.forEach((t, i) => { if (i % every === 0) out.push(`<text x="${t.at.toFixed(1)}" y="${y0 + 16}" text-anchor="middle">${esc(t.label.length > 14 ? `${t.label.slice(0, 13)}…` : t.label)}</text>`); });
  barRects(fig, bars, xs, ys, isCat, out);
  scatterMarks(fig, lines, xs, ys, out);
}

/**
 * `title: false` leaves the title to the page (a caption); below `NARROW` pixels of width the legend goes under the
 * plot, one entry per row, so that the plot keeps the width of a phone.
 */
export function figureToSvg(fig: Figure, opts: { width?: number; height?: number; title?: boolean } = {}): string {
  const W = opts.width ?? fig.layout.width ?? 720;
  const legend = fig.data.filter((t) => t.name && t.type !== 'heatmap');
  const below = W < NARROW && legend.length > 1;
  const H = (opts.height ?? fig.layout.height ?? 380) + (below ? 18 * legend.length : 0);
  const m = { l: 70, r: 20, t: opts.title === false ? 14 : 44, b: 56 + (below ? 18 * legend.length : 0) };
  const legendW = legend.length > 1 && !below ? 150 : 0;
  const box: Box = { x0: m.l, x1: W - m.r - legendW, y0: H - m.b, y1: m.t };
  const { x0, x1, y0, y1 } = box;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  if (opts.title !== false) out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${esc(fig.layout.title.text)}</text>`);
  const heat = fig.data.find((t): t is HeatmapTrace => t.type === 'heatmap');
  if (heat) heatmapCells(heat, box, out);
  else barsAndLines(fig, box, out);
  out.push(`<line x1="${x0}" x2="${x1}" y1="${y0}" y2="${y0}" stroke="#444"/><line x1="${x0}" x2="${x0}" y1="${y0}" y2="${y1}" stroke="#444"/>`);
  out.push(`<text x="${(x0 + x1) / 2}" y="${y0 + 42}" text-anchor="middle" font-size="12">${esc(fig.layout.xaxis.title.text)}</text>`);
  out.push(`<text transform="translate(16,${(y0 + y1) / 2}) rotate(-90)" text-anchor="middle" font-size="12">${esc(fig.layout.yaxis.title.text)}</text>`);
  if (legendW || below) legend.forEach((t, i) => {
    const color = COLORS[fig.data.indexOf(t) % COLORS.length];
    const lx = below ? x0 : x1 + 14, ly = below ? y0 + 56 + i * 18 - 8 : y1 + i * 18;
    out.push(`<rect x="${lx}" y="${ly}" width="12" height="12" fill="${color}"/><text x="${lx + 18}" y="${ly + 10}">${esc((t.name ?? '').slice(0, below ? 48 : 20))}</text>`);
  });
  out.push('</svg>');
  return out.join('');
}
