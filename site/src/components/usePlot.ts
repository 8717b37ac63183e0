import { useEffect, useRef, useState } from 'react';
import useBaseUrl from '@docusaurus/useBaseUrl';
import type { Figure } from '@loralab/viz/figure.js';

interface PlotlyApi {
  newPlot(el: HTMLElement, data: object[], layout: object, config: object): Promise<unknown>;
  react(el: HTMLElement, data: object[], layout: object, config: object): Promise<unknown>;
}
let plotly: Promise<PlotlyApi> | null = null;
/** Plotly from static/vendor: one <script> per page, shared by the notebook charts and the demos. */
export function loadPlotly(src: string): Promise<PlotlyApi> {
  const w = window as unknown as { Plotly?: PlotlyApi };
  if (w.Plotly) return Promise.resolve(w.Plotly);
  plotly ??= new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = () => (w.Plotly ? resolve(w.Plotly) : reject(new Error('Plotly did not load')));
    s.onerror = () => reject(new Error(`cannot load ${src}`));
    document.head.appendChild(s);
  });
  return plotly;
}

/** Draw (and redraw on change) a LoRA Lab figure spec into the returned ref; `version` counts completed draws. */
export function usePlot(fig: Figure | null): { ref: React.RefObject<HTMLDivElement | null>; version: number } {
  const ref = useRef<HTMLDivElement>(null);
  const [version, setVersion] = useState(0);
  const src = useBaseUrl('/vendor/plotly.min.js');
  useEffect(() => {
    if (!fig || !ref.current) return;
    let live = true;
    loadPlotly(src).then(async (P) => {
      if (!live || !ref.current) return;
      await P.react(ref.current, fig.data, { ...fig.layout, autosize: true, width: undefined }, { responsive: true, displaylogo: false });
      if (live) setVersion((v) => v + 1);
    }).catch((e) => console.warn(e));
    return () => { live = false; };
  }, [fig, src]);
  return { ref, version };
}
