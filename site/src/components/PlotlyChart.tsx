import { useEffect, useRef, useState, type ReactElement } from 'react';
import BrowserOnly from '@docusaurus/BrowserOnly';
import useBaseUrl from '@docusaurus/useBaseUrl';
import { drawFigure, loadPlotly, usePlotlySrc } from './usePlot';

interface Figure { data: object[]; layout: Record<string, unknown> }

/**
 * A notebook's Plotly output, rendered interactively in the browser (client only: Plotly needs `window`). The figure
 * spec is the one the notebook displayed (static/figures/ID.json), drawn with its title as the caption and labelled
 * tooltips (readableFigure); until Plotly has drawn it, and for readers without JavaScript, the notebook's static SVG
 * rendering shows instead.
 */
function Chart({ id, title }: { id: string; title: string }): ReactElement {
  const ref = useRef<HTMLDivElement>(null);
  const [state, setState] = useState<'loading' | 'ready' | 'error'>('loading');
  const json = useBaseUrl(`/figures/${id}.json`);
  const lib = usePlotlySrc();
  useEffect(() => {
    let cancelled = false;
    (async () => {
      try {
        const [fig, Plotly] = await Promise.all([fetch(json).then((r) => r.json() as Promise<Figure>), loadPlotly(lib)]);
        if (cancelled || !ref.current) return;
        await drawFigure(Plotly, ref.current, fig, true);
        setState('ready');
      } catch (e) {
        console.warn(`chart ${id}: ${(e as Error).message}`);
        setState('error');
      }
    })();
    return () => { cancelled = true; };
  }, [json, lib, id]);
  return (
    <div className="plotly-chart-live" data-state={state}>
      <div ref={ref} aria-label={title} className="plot-area" />
      {state !== 'ready' && <StaticChart id={id} title={title} />}
    </div>
  );
}

function StaticChart({ id, title }: { id: string; title: string }): ReactElement {
  return <img className="plotly-fallback" src={useBaseUrl(`/figures/${id}.svg`)} alt={title} loading="lazy" />;
}

/** The wrapper and caption are in the server-rendered HTML too, so every chart of a page is there before hydration. */
export default function PlotlyChart(props: { id: string; title: string }): ReactElement {
  return (
    <figure className="plotly-chart plot-figure" data-chart={props.id}>
      <figcaption className="plot-caption">{props.title}</figcaption>
      <BrowserOnly fallback={<StaticChart {...props} />}>{() => <Chart {...props} />}</BrowserOnly>
    </figure>
  );
}
