import { lazy, Suspense, useEffect, useMemo, useState, type ReactElement } from 'react';
import BrowserOnly from '@docusaurus/BrowserOnly';
import { drawState } from './usePlot';
import { useSvgPlot } from './useSvgPlot';
import PlotFrame from './PlotFrame';
import { D, K, NOISE, PLANTED_RANK, precomputeSpectra, gamma, keptEnergy, loraParams, measuredError, relativeError, spectrum, truncated } from './loraModel';
import { energyFigure, heatmapFigure, scalingFigure, spectrumFigure } from './loraFigures';
import { Slider } from './controls';

/** The decay slider's values: 0 to 3 in steps of 0.25. */
const DECAYS = Array.from({ length: 13 }, (_, i) => i / 4);
const LoraTfCheck = lazy(() => import('./LoraTfCheck'));
const pct = (v: number) => `${(100 * v).toFixed(1)} %`;

/**
 * What a rank-r LoRA can hold of a weight update ΔW: its singular values with the first r kept, the energy kept and
 * the error against r (Eckart–Young), ΔW and its best rank-r approximation as heat maps, and the scale γ that α and r
 * give under PEFT's and rsLoRA's conventions. LoRA Lab's SVD runs in the page and its SVG renderer draws the figures (fast enough to follow a slider); `tfCheck` adds the TF.js check of the
 * demo page.
 */
function Explorer({ tfCheck }: { tfCheck: boolean }): ReactElement {
  const [r, setR] = useState(8);
  const [alpha, setAlpha] = useState(16);
  const [decay, setDecay] = useState(1.5);
  const s = useMemo(() => spectrum(decay), [decay]);
  useEffect(() => precomputeSpectra(DECAYS), []);
  const approx = useMemo(() => truncated(s, r), [s, r]);
  const zmax = useMemo(() => s.M.reduce((m, v) => Math.max(m, Math.abs(v)), 0), [s]);
  const figs = {
    spectrum: useMemo(() => spectrumFigure(s, r), [s, r]),
    energy: useMemo(() => energyFigure(s, r), [s, r]),
    target: useMemo(() => heatmapFigure('ΔW, the update to hold', s.M, zmax), [s, zmax]),
    approx: useMemo(() => heatmapFigure(`ΔW_r = BA, its best rank-${r} approximation`, approx, zmax), [approx, r, zmax]),
    scaling: useMemo(() => scalingFigure(alpha, r, K), [alpha, r]),
  };
  const plots = { spectrum: useSvgPlot(figs.spectrum), energy: useSvgPlot(figs.energy), target: useSvgPlot(figs.target), approx: useSvgPlot(figs.approx), scaling: useSvgPlot(figs.scaling) };
  const p = loraParams(r);
  const err = relativeError(s, r);
  return (
    <div className="demo" data-demo="lora" {...drawState(Object.values(plots))}>
      <div className="demo-controls">
        <Slider label="rank" text="rank r" value={r} min={1} max={K} onChange={setR} />
        <Slider label="alpha" text="lora_alpha α" value={alpha} min={1} max={64} onChange={setAlpha} />
        <Slider label="decay" text="spectrum decay" value={decay} min={0} max={DECAYS.at(-1)!} step={DECAYS[1]} onChange={setDecay} />
      </div>
      <p className="demo-readout" data-testid="lora-readout">
        LoRA parameters r(d+k) = <strong>{p.lora.toLocaleString('en-US')}</strong> vs dk = {p.full.toLocaleString('en-US')} ({pct(p.share)}) ·
        relative error <strong data-testid="lora-error">{err.toFixed(4)}</strong>
        {tfCheck
          ? <BrowserOnly>{() => <Suspense fallback={<> (measured with TF.js: …) · TF.js backend: <strong data-testid="tf-backend">…</strong></>}><LoraTfCheck s={s} r={r} /></Suspense>}</BrowserOnly>
          : <> (measured on the rebuilt matrix: <span data-testid="lora-measured">{measuredError(s.M, approx).toFixed(4)}</span>)</>}
        {' '}· energy kept <strong data-testid="lora-energy">{pct(keptEnergy(s, r))}</strong> · scaling α/r = <strong data-testid="lora-gamma">{gamma(r, alpha, false).toFixed(3)}</strong>, rsLoRA α/√r = <strong data-testid="lora-gamma-rs">{gamma(r, alpha, true).toFixed(3)}</strong>
      </p>
      {p.share > 1 && (
        <p className="demo-note" data-testid="lora-note-over">
          Over 100 %: above r = {p.breakEven.toFixed(1)} (= dk/(d+k)) the two factors B ({D}×r) and A (r×{K}) hold more numbers than ΔW itself.
          LoRA only saves parameters when r is well below that — for a 4096×4096 projection the break-even rank is 2,048, so r = 8 costs 0.4 %.
        </p>
      )}
      <p className="demo-note" data-testid="lora-note-cliff">
        Why a cliff after i = {PLANTED_RANK}: this ΔW was made as a sum of {PLANTED_RANK} rank-one directions of strength σᵢ = 1/i^decay, plus noise of size {NOISE} in
        every entry, so its singular values past the {PLANTED_RANK}th are only that noise (about {s.svd.S[PLANTED_RANK].toFixed(3)} here).{' '}
        {decay === 0
          ? `With decay 0 all ${PLANTED_RANK} directions are equally strong: the spectrum is flat, then drops — a rank below ${PLANTED_RANK} must leave whole directions out, and the error falls in even steps until r = ${PLANTED_RANK}.`
          : s.svd.S[PLANTED_RANK - 1] > 2 * s.svd.S[PLANTED_RANK]
            ? `A rank past ${PLANTED_RANK} keeps nothing but noise.`
            : `At this decay the weakest planted directions are already below the noise, so the spectrum sinks into the noise floor before i = ${PLANTED_RANK} and the cliff disappears: the update's useful rank is lower than the one it was made with.`}
      </p>
      <div className="demo-grid">
        <PlotFrame fig={figs.spectrum} plot={plots.spectrum} />
        <PlotFrame fig={figs.energy} plot={plots.energy} />
        <PlotFrame fig={figs.target} plot={plots.target} />
        <PlotFrame fig={figs.approx} plot={plots.approx} />
      </div>
      <PlotFrame fig={figs.scaling} plot={plots.scaling} testId="lora-scaling-chart" />
      <p className="demo-note">
        α sets the scale γ of the update γ·BAx. With PEFT's γ = α/r, doubling r halves γ; rsLoRA's α/√r halves it only by √2, which keeps the update's size
        steady as r grows (notebook 4 measures it). Keeping α = 2r holds γ = 2 fixed.
      </p>
    </div>
  );
}

export default function LoraRankExplorer({ tfCheck = false }: { tfCheck?: boolean }): ReactElement {
  return <BrowserOnly fallback={<p>The explorer runs in your browser once the page has loaded.</p>}>{() => <Explorer tfCheck={tfCheck} />}</BrowserOnly>;
}
