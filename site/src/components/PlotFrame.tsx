import type { ReactElement, Ref } from 'react';
import type { Figure } from '@loralab/viz/figure.js';

/** A live chart with its title as a caption above it (readableFigure takes the title out of the plot). */
export default function PlotFrame({ fig, plot, testId }: { fig: Figure | null; plot: { ref: Ref<HTMLDivElement> }; testId?: string }): ReactElement {
  return (
    <figure className="plot-figure" data-testid={testId}>
      {fig && <figcaption className="plot-caption">{fig.layout.title.text}</figcaption>}
      <div ref={plot.ref} className="plot-area" />
    </figure>
  );
}
