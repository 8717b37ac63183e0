import { useEffect, useRef, useState } from 'react';
import useBaseUrl from '@docusaurus/useBaseUrl';
import type { Figure } from '@loralab/viz/figure.js';
import vendor from '@site/src/data/vendor.json';
import { PLOT_CONFIG, readableFigure } from './readableFigure';

export interface PlotlyApi {
  newPlot(el: HTMLElement, data: object[], layout: object, config: object): Promise<unknown>;
  react(el: HTMLElement, data: object[], layout: object, config: object): Promise<unknown>;
}
let plotly: Promise<PlotlyApi> | null = null;
/**
 * Plotly's cartesian bundle from static/vendor (a content-hashed file the server lets browsers cache): one <script>
 * per page, shared by the notebook charts and the demos.
 */
export function loadPlotly(src: string): Promise<PlotlyApi> {
  const w = window as unknown as { Plotly?: PlotlyApi };
  if (w.Plotly) return Promise.resolve(w.Plotly);
  plotly ??= new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = () => (w.Plotly ? resolve(w.Plotly) : reject(new Error('Plotly did not load')));
    s.onerror = () => { plotly = null; reject(new Error(`cannot load ${src}`)); };
    document.head.appendChild(s);
  });
  return plotly;
}

/** The URL of the Plotly bundle. */
export const usePlotlySrc = (): string => useBaseUrl(vendor.plotly);

/** Draw a figure into `el` laid out for the site (readableFigure); `first` uses newPlot, later calls react. */
export function drawFigure(P: PlotlyApi, el: HTMLElement, fig: { data: object[]; layout: object }, first: boolean): Promise<unknown> {
  const f = readableFigure(fig, el.clientWidth || window.innerWidth);
  return first ? P.newPlot(el, f.data, f.layout, PLOT_CONFIG) : P.react(el, f.data, f.layout, PLOT_CONFIG);
}

/**
 * Draw (and redraw on change) a LoRA Lab figure spec into the returned ref; `version` counts completed draws and
 * `pending` says that the latest spec is not on the screen yet (the tests time a control from its change until no
 * plot is pending).
 */
export function usePlot(fig: Figure | null): { ref: React.RefObject<HTMLDivElement | null>; version: number; pending: boolean } {
  const ref = useRef<HTMLDivElement>(null);
  const [drawn, setDrawn] = useState<{ fig: Figure | null; version: number }>({ fig: null, version: 0 });
  const src = usePlotlySrc();
  useEffect(() => {
    if (!fig || !ref.current) return;
    let live = true;
    loadPlotly(src).then(async (P) => {
      if (!live || !ref.current) return;
      await drawFigure(P, ref.current, fig, false);
      if (live) setDrawn((d) => ({ fig, version: d.version + 1 }));
    }).catch((e) => console.warn(e));
    return () => { live = false; };
  }, [fig, src]);
  return { ref, version: drawn.version, pending: fig !== null && fig !== drawn.fig };
}

/** The data attributes of an explorable: completed draws, and how many plots still show an older spec. */
export function drawState(plots: { version: number; pending: boolean }[]): { 'data-draws': number; 'data-pending': number } {
  return { 'data-draws': plots.reduce((n, p) => n + p.version, 0), 'data-pending': plots.filter((p) => p.pending).length };
}
