/**
 * A Plotly figure spec made readable on the site: its title moves out of the plot into an HTML caption (it wraps on a
 * phone and the mode bar cannot cover it), every trace without a hovertemplate gets one that labels its values with
 * the axis titles ("rank r: 8 · relative error: 0.2113" rather than "x: 8 y: 0.2113"), the width follows the page, and
 * on a narrow screen the legend goes under the plot.
 */
interface AnyTrace { type?: string; name?: string; x?: unknown[]; hovertemplate?: string; yaxis?: string; [k: string]: unknown }
interface AnyAxis { title?: { text?: string } | string; type?: string; [k: string]: unknown }
type AnyLayout = Record<string, unknown> & { title?: { text?: string } | string; xaxis?: AnyAxis; yaxis?: AnyAxis; yaxis2?: AnyAxis; margin?: Record<string, number>; height?: number };

const titleOf = (a: AnyAxis | { text?: string } | string | undefined, fallback: string): string => {
  const t = typeof a === 'string' ? a : a && 'title' in a ? (typeof a.title === 'string' ? a.title : a.title?.text) : a && 'text' in a ? (a as { text?: string }).text : undefined;
  return (t ?? '').trim() || fallback;
};
/** `%` and braces would be read as template syntax by Plotly. */
const lit = (s: string) => s.replace(/%/g, '%%').replace(/[{}]/g, '');

/** d3-format for a value on an axis: category and text values as they are, numbers to 4 significant digits. */
const fmt = (axis: AnyAxis | undefined, values: unknown[] | undefined) =>
  axis?.type === 'category' || (values ?? []).some((v) => typeof v === 'string') ? '' : ':,.4~r';

export function hoverTemplate(trace: AnyTrace, layout: AnyLayout): string {
  const xa = layout.xaxis, ya = trace.yaxis === 'y2' ? layout.yaxis2 : layout.yaxis;
  const x = lit(titleOf(xa, 'x')), y = lit(titleOf(ya, 'y'));
  if (trace.type === 'heatmap') return `${x} %{x}, ${y} %{y}<br>value: %{z:,.4~r}<extra></extra>`;
  return `${x}: %{x${fmt(xa, trace.x)}}<br>${y}: %{y${fmt(ya, undefined)}}<extra>${lit(trace.name ?? '')}</extra>`;
}

export function readableFigure<F extends { data: object[]; layout: object }>(fig: F, width: number): { data: object[]; layout: object } {
  const layout = fig.layout as AnyLayout;
  const narrow = width < 600;
  const margin = { l: 60, r: 20, t: 30, b: 50, ...(layout.margin ?? {}) };
  return {
    data: (fig.data as AnyTrace[]).map((t) => (t.hovertemplate ? t : { ...t, hovertemplate: hoverTemplate(t, layout) })),
    layout: {
      ...layout,
      title: undefined,
      // room at the top for the mode bar only: the title is the caption above the chart
      margin: { ...margin, t: 30, ...(narrow ? { l: Math.min(margin.l, 55), r: Math.min(margin.r, 10) } : {}) },
      autosize: true,
      width: undefined,
      ...(narrow ? { legend: { orientation: 'h', x: 0, y: -0.3, yanchor: 'top' }, height: Math.max(layout.height ?? 380, 360) } : {}),
    },
  };
}

/** Plotly's config for every chart on the site: fits its box, no logo, mode bar on hover only. */
export const PLOT_CONFIG = { responsive: true, displaylogo: false, displayModeBar: 'hover' as const };
