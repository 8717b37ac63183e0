import { useLayoutEffect, useState } from 'react';
import { figureToSvg } from '../../../lib/src/viz/svg.js';
import type { Figure } from '../../../lib/src/viz/figure.js';

/**
 * Draw a LoRA Lab figure spec with LoRA Lab's own SVG renderer (viz/svg), at the width of its box and again when the
 * box is resized: a few milliseconds per figure where Plotly takes 30–100 ms on a small CPU, so that an explorable
 * answers a slider within 100 ms. Like usePlot, `version` counts completed draws and `pending` says that the latest
 * spec is not on the screen yet; the title is left to the caption (PlotFrame). `ref` is a callback ref, so a box
 * that appears later (after data has loaded) is drawn too.
 */
export function useSvgPlot(fig: Figure | null): { ref: (el: HTMLDivElement | null) => void; version: number; pending: boolean } {
  const [el, setEl] = useState<HTMLDivElement | null>(null);
  const [drawn, setDrawn] = useState<{ fig: Figure | null; version: number }>({ fig: null, version: 0 });
  const [width, setWidth] = useState(0);
  useLayoutEffect(() => {
    if (!el) return;
    setWidth(el.clientWidth);
    const ro = new ResizeObserver(() => setWidth(el.clientWidth));
    ro.observe(el);
    return () => ro.disconnect();
  }, [el]);
  useLayoutEffect(() => {
    if (!fig || !el || width === 0) return;
    el.innerHTML = figureToSvg(fig, { width: Math.round(width), height: Math.min(fig.layout.height, 340), title: false });
    setDrawn((d) => ({ fig, version: d.version + 1 }));
  }, [fig, el, width]);
  return { ref: setEl, version: drawn.version, pending: fig !== null && fig !== drawn.fig };
}
