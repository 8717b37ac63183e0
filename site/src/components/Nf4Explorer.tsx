import { useEffect, useMemo, useState, type ReactElement } from 'react';
import BrowserOnly from '@docusaurus/BrowserOnly';
import useBaseUrl from '@docusaurus/useBaseUrl';
import { barChart, histogram, lineChart, type Figure, type ScatterTrace } from '../../../lib/src/viz/figure.js';
import { drawState } from './usePlot';
import { useSvgPlot } from './useSvgPlot';
import PlotFrame from './PlotFrame';
import { Slider } from './controls';
import { DISTS, levelsOf, quantizeAs, sampleWeights, type Dist, type QType } from './nf4Model';

export const REAL = 'gemma-micro down_proj';
type Source = typeof REAL | Dist;
const N = 16384;
const BLOCKSIZES = [32, 64, 128, 256, 512, 1024, 4096];
const TYPES: { t: QType; label: string }[] = [{ t: 'nf4', label: 'NF4' }, { t: 'fp4', label: 'FP4' }, { t: 'int4', label: 'int4 (absmax)' }];
const STEPS = 8;

/** The real weights: the first 16,384 of gemma-micro's layer-0 mlp.down_proj, bf16 values (static/data, by generate.mjs). */
function useRealWeights(wanted: boolean): Float32Array | null | Error {
  const url = useBaseUrl('/data/gemma-micro-down-proj-16k.f32');
  const [w, setW] = useState<Float32Array | null | Error>(null);
  useEffect(() => {
    if (!wanted || w) return;
    fetch(url).then((r) => (r.ok ? r.arrayBuffer() : Promise.reject(new Error(`${url}: HTTP ${r.status}`)))).then((b) => setW(new Float32Array(b)), (e: Error) => setW(e));
  }, [wanted, url, w]);
  return w;
}

/** Vertical lines at each level, one trace (NaN breaks the line between levels). */
function levelLines(levels: Float32Array, height: number): ScatterTrace {
  const x: number[] = [], y: number[] = [];
  for (const l of levels) x.push(l, l, NaN), y.push(0, height, NaN);
  return { type: 'scatter', name: `the ${levels.length} levels`, x, y, mode: 'lines', line: { dash: 'dot', width: 1 } };
}

/**
 * Notebook 6's quantizer, one step at a time: every weight divided by its block's absmax (scaled into [−1, 1]) and
 * snapped to the nearest of the type's levels; one block followed through absmax → scaled → code → dequantized; NF4,
 * FP4 or int4 and double quantization as toggles, with the error and the bits per parameter. LoRA Lab's quantize4bit
 * runs in the page, on gemma-micro's real weights or on sampled ones.
 */
function Explorer(): ReactElement {
  const [source, setSource] = useState<Source>(REAL);
  const [type, setType] = useState<QType>('nf4');
  const [blocksize, setBlocksize] = useState(64);
  const [dq, setDq] = useState(false);
  const [block, setBlock] = useState(0);
  const real = useRealWeights(source === REAL);
  const x = useMemo(() => (source === REAL ? (real instanceof Float32Array ? real : null) : sampleWeights(source, N)), [source, real]);
  const nBlocks = x ? Math.ceil(x.length / blocksize) : 1;
  const b = Math.min(block, nBlocks - 1);
  const q = useMemo(() => (x ? quantizeAs(x, type, blocksize, dq) : null), [x, type, blocksize, dq]);
  const all = useMemo(() => (x ? TYPES.map(({ t }) => ({ t, q: t === type ? q! : quantizeAs(x, t, blocksize, dq) })) : []), [x, q, type, blocksize, dq]);
  const levels = levelsOf(type);
  const hist = useMemo((): Figure | null => {
    if (!q) return null;
    const f = histogram({ title: `All ${q.scaled.length.toLocaleString('en-US')} weights divided by their block's absmax, and the ${levels.length} ${type.toUpperCase()} levels`, x: 'x / absmax of its block', series: [{ name: 'scaled weights', values: q.scaled }], bins: 100, range: [-1, 1] });
    const top = Math.max(...(f.data[0].y as number[]));
    return { ...f, data: [...f.data, levelLines(levels, top)], layout: { ...f.layout, showlegend: true } };
  }, [q, levels, type]);
  const blockFig = useMemo((): Figure | null => {
    if (!q || !x) return null;
    const lo = b * blocksize, hi = Math.min(x.length, lo + blocksize);
    const idx = Array.from({ length: hi - lo }, (_, i) => i);
    return lineChart({
      title: `Block ${b}: the ${hi - lo} weights and what dequantizing gives back (absmax ${q.absmax[b].toPrecision(4)})`, x: 'position in the block', y: 'weight value',
      series: [{ name: 'original', x: idx, y: Array.from(x.subarray(lo, hi)), mode: 'markers' }, { name: 'dequantized', x: idx, y: Array.from(q.dequantized.subarray(lo, hi)), mode: 'markers' }],
    });
  }, [q, x, b, blocksize]);
  const codesFig = useMemo((): Figure | null => {
    if (!q) return null;
    const counts = new Array<number>(levels.length).fill(0);
    for (const c of q.codes) counts[c]++;
    return barChart({ title: `How often each ${type.toUpperCase()} code is used (blocksize ${blocksize})`, x: 'code', y: 'count', categories: counts.map((_, i) => String(i)), series: [{ name: 'count', values: counts }] });
  }, [q, levels, type, blocksize]);
  const plots = { hist: useSvgPlot(hist), block: useSvgPlot(blockFig), codes: useSvgPlot(codesFig) };
  if (real instanceof Error) return <p className="demo-readout">Could not load gemma-micro's weights: {real.message}</p>;
  return (
    <div className="demo" data-demo="nf4-explorer" {...drawState(Object.values(plots))}>
      <div className="demo-controls">
        <label>Weights <select aria-label="weights" value={source} onChange={(e) => setSource(e.target.value as Source)}>
          {[REAL, ...DISTS].map((d) => <option key={d} value={d}>{d === REAL ? 'gemma-micro down_proj (real)' : `sampled: ${d}`}</option>)}
        </select></label>
        <label>Blocksize <select aria-label="blocksize" value={blocksize} onChange={(e) => setBlocksize(Number(e.target.value))}>
          {BLOCKSIZES.map((v) => <option key={v} value={v}>{v}</option>)}
        </select></label>
        <Slider label="block" text="block" value={b} min={0} max={nBlocks - 1} onChange={setBlock} />
      </div>
      <div className="demo-toggles">
        <fieldset aria-label="4-bit type" className="demo-toggles">
          {TYPES.map(({ t, label }) => <label key={t}><input type="radio" name="nf4x-type" value={t} checked={type === t} onChange={() => setType(t)} /> {label}</label>)}
        </fieldset>
        <label><input type="checkbox" aria-label="double quantization" checked={dq} onChange={(e) => setDq(e.target.checked)} /> double quantization</label>
      </div>
      {q && x ? (
        <>
          <p className="demo-readout" data-testid="nf4x-readout">
            {type.toUpperCase()}, blocksize {blocksize}{dq ? ', double quantized' : ''}: RMS error / RMS weight <strong data-testid="nf4x-error">{q.relError.toFixed(4)}</strong> ·
            bits per parameter <strong data-testid="nf4x-bits">{q.bits.toFixed(3)}</strong> · {nBlocks.toLocaleString('en-US')} blocks of {x.length.toLocaleString('en-US')} weights
          </p>
          <table className="demo-steps" data-testid="nf4x-compare">
            <thead><tr><th>type</th><th>RMS error / RMS weight</th><th>bits per parameter</th></tr></thead>
            <tbody>{all.map(({ t, q: o }) => <tr key={t} data-type={t} className={t === type ? 'is-selected' : undefined}><td>{TYPES.find((y) => y.t === t)!.label}</td><td>{o.relError.toFixed(4)}</td><td>{o.bits.toFixed(3)}</td></tr>)}</tbody>
          </table>
          <PlotFrame fig={hist} plot={plots.hist} />
          <p className="demo-note">Block {b}, step by step: the absmax of its {blocksize} weights is <strong data-testid="nf4x-absmax">{q.absmax[b].toPrecision(6)}</strong>; each weight is divided by it, snapped to the nearest level (its code), and multiplied back{dq ? ' by the absmax as double quantization stored it (8 bits)' : ''}.</p>
          <div className="demo-scroll">
            <table className="demo-steps" data-testid="nf4x-steps">
              <thead><tr><th>i</th><th>weight</th><th>÷ absmax</th><th>code</th><th>level</th><th>dequantized</th><th>error</th></tr></thead>
              <tbody>{Array.from({ length: Math.min(STEPS, blocksize) }, (_, k) => b * blocksize + k).filter((i) => i < x.length).map((i) => (
                <tr key={i}><td>{i}</td><td>{x[i].toFixed(5)}</td><td>{q.scaled[i].toFixed(4)}</td><td>{q.codes[i]}</td><td>{levels[q.codes[i]].toFixed(4)}</td><td>{q.dequantized[i].toFixed(5)}</td><td>{q.error[i].toExponential(2)}</td></tr>
              ))}</tbody>
            </table>
          </div>
          <div className="demo-grid">
            <PlotFrame fig={blockFig} plot={plots.block} />
            <PlotFrame fig={codesFig} plot={plots.codes} />
          </div>
        </>
      ) : <p className="demo-readout">Loading gemma-micro's weights…</p>}
    </div>
  );
}

export default function Nf4Explorer(): ReactElement {
  return <BrowserOnly fallback={<p>The explorer runs in your browser once the page has loaded.</p>}>{() => <Explorer />}</BrowserOnly>;
}
