/** Figure specs of the LoRA explorables, built with LoRA Lab's own figure builders (viz/figure). */
import { heatmap, lineChart, type Figure } from '../../../lib/src/viz/figure.js';
import { gamma, keptEnergy, relativeError, rows, SCALING_RANKS, updateRms, D, K, type Spectrum } from './loraModel';

const ranks = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

export function spectrumFigure(s: Spectrum, r: number): Figure {
  const idx = ranks(s.svd.k);
  return lineChart({
    title: `Singular values of ΔW (${D}×${K}); the first r = ${r} are what a rank-r LoRA can hold`, x: 'index i', y: { title: 'singular value σᵢ', log: true },
    series: [{ name: 'all σᵢ', x: idx, y: Array.from(s.svd.S), mode: 'markers' }, { name: `kept (r = ${r})`, x: idx.slice(0, r), y: Array.from(s.svd.S.slice(0, r)), mode: 'markers' }],
  });
}

export function energyFigure(s: Spectrum, r: number): Figure {
  const idx = ranks(s.svd.k);
  return lineChart({
    title: 'What a rank-r approximation keeps (Eckart–Young)', x: 'rank r', y: { title: 'share of ‖ΔW‖²_F', range: [0, 1.02], tickformat: '.0%' },
    series: [
      { name: 'energy kept', x: idx, y: idx.map((k) => keptEnergy(s, k)) },
      { name: 'relative error ‖ΔW − ΔW_r‖/‖ΔW‖', x: idx, y: idx.map((k) => relativeError(s, k)), dash: 'dash' },
      { name: `r = ${r}`, x: [r, r], y: [keptEnergy(s, r), relativeError(s, r)], mode: 'markers' },
    ],
  });
}

export function heatmapFigure(title: string, M: Float64Array, zmax: number): Figure {
  const f = heatmap({ title, z: rows(M, K, 2), x: 'column (every 2nd)', y: 'row (every 2nd)', zmid: 0 });
  return { ...f, data: f.data.map((t) => ({ ...t, zmin: -zmax, zmax })) as Figure['data'], layout: { ...f.layout, height: 300 } };
}

/** γ against r for both conventions at this α, the current r marked. */
export function scalingFigure(alpha: number, r: number, maxR = 128): Figure {
  const rs = ranks(maxR);
  return lineChart({
    title: `The scale γ at α = ${alpha}: PEFT's α/r against rsLoRA's α/√r`, x: { title: 'rank r', log: true }, y: { title: 'scale γ', log: true },
    series: [
      { name: 'γ = α/r (LoRA)', x: rs, y: rs.map((k) => gamma(k, alpha, false)) },
      { name: 'γ = α/√r (rsLoRA)', x: rs, y: rs.map((k) => gamma(k, alpha, true)), dash: 'dash' },
      { name: `r = ${r}`, x: [r, r], y: [gamma(r, alpha, false), gamma(r, alpha, true)], mode: 'markers' },
    ],
  });
}

/** RMS of γ·BAx at notebook 4's ranks for both conventions, and at the current r. */
export function updateFigure(alpha: number, r: number): Figure {
  return lineChart({
    title: `Size of the update γ·BAx (α = ${alpha}) as the rank grows`, x: { title: 'rank r', log: true }, y: { title: 'RMS of γ·BAx', log: true },
    series: [
      { name: 'γ = α/r (LoRA)', x: SCALING_RANKS, y: SCALING_RANKS.map((k) => updateRms(k, alpha, false)), mode: 'lines+markers' },
      { name: 'γ = α/√r (rsLoRA)', x: SCALING_RANKS, y: SCALING_RANKS.map((k) => updateRms(k, alpha, true)), mode: 'lines+markers' },
      { name: `r = ${r}`, x: [r, r], y: [updateRms(r, alpha, false), updateRms(r, alpha, true)], mode: 'markers' },
    ],
  });
}
