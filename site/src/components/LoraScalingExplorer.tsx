import { useMemo, useState, type ReactElement } from 'react';
import BrowserOnly from '@docusaurus/BrowserOnly';
import { drawState } from './usePlot';
import { useSvgPlot } from './useSvgPlot';
import PlotFrame from './PlotFrame';
import { Slider } from './controls';
import { gamma, rmsBAx, updateRms, SCALING_DIM } from './loraModel';
import { scalingFigure, updateFigure } from './loraFigures';

/**
 * Notebook 4's question, live: what α and r do to the LoRA update γ·BAx. The scale γ under PEFT's α/r and rsLoRA's
 * α/√r, and the measured RMS of the update for random B and A (entries of a fixed size, as after some training) at
 * the notebook's ranks: α/r shrinks it like 1/√r, α/√r holds it at about α.
 */
function Explorer(): ReactElement {
  const [alpha, setAlpha] = useState(16);
  const [r, setR] = useState(8);
  const figs = { scaling: useMemo(() => scalingFigure(alpha, r), [alpha, r]), update: useMemo(() => updateFigure(alpha, r), [alpha, r]) };
  const plots = { scaling: useSvgPlot(figs.scaling), update: useSvgPlot(figs.update) };
  return (
    <div className="demo" data-demo="lora-scaling" {...drawState(Object.values(plots))}>
      <div className="demo-controls">
        <Slider label="alpha" text="lora_alpha α" value={alpha} min={1} max={64} onChange={setAlpha} />
        <Slider label="rank" text="rank r" value={r} min={1} max={128} onChange={setR} />
      </div>
      <p className="demo-readout" data-testid="scaling-readout">
        γ = α/r = <strong data-testid="scaling-gamma">{gamma(r, alpha, false).toFixed(3)}</strong>, rsLoRA γ = α/√r = <strong data-testid="scaling-gamma-rs">{gamma(r, alpha, true).toFixed(3)}</strong> ·
        RMS of BAx = {rmsBAx(r).toFixed(2)} (≈ √r = {Math.sqrt(r).toFixed(2)}) · RMS of γ·BAx: <strong data-testid="scaling-update">{updateRms(r, alpha, false).toFixed(3)}</strong> with α/r,
        {' '}<strong data-testid="scaling-update-rs">{updateRms(r, alpha, true).toFixed(3)}</strong> with α/√r
      </p>
      <div className="demo-grid">
        <PlotFrame fig={figs.scaling} plot={plots.scaling} />
        <PlotFrame fig={figs.update} plot={plots.update} />
      </div>
      <p className="demo-note">
        Each output of BAx sums r independent products, so its size grows like √r (layers of width {SCALING_DIM}, 64 random inputs, LoRA Lab's seeded
        random numbers). Times α/r that is α/√r: raising the rank shrinks the update unless α grows with it. Times α/√r it is α whatever the rank. Move α:
        both curves scale with it, and their ratio √r does not change.
      </p>
    </div>
  );
}

export default function LoraScalingExplorer(): ReactElement {
  return <BrowserOnly fallback={<p>The explorer runs in your browser once the page has loaded.</p>}>{() => <Explorer />}</BrowserOnly>;
}
