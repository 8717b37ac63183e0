import { useEffect, useMemo, useState, type ReactElement } from 'react';
import BrowserOnly from '@docusaurus/BrowserOnly';
import * as tf from '@tensorflow/tfjs';
import { svdJacobi } from '@loralab/linalg/svd.js';
import { Rng } from '@loralab/util/rng.js';
import { lineChart } from '@loralab/viz/figure.js';
import { usePlot } from './usePlot';

const D = 96, K = 64;

/** A weight update with a decaying spectrum plus a little noise, as fine-tuning updates look (notebook 3). */
function makeUpdate(decay: number): Float64Array {
  const r = new Rng(7);
  const M = new Float64Array(D * K);
  for (let i = 0; i < 24; i++) {
    const s = 1 / (i + 1) ** decay;
    const u = Array.from({ length: D }, () => r.normal() / Math.sqrt(D));
    const v = Array.from({ length: K }, () => r.normal() / Math.sqrt(K));
    for (let a = 0; a < D; a++) for (let b = 0; b < K; b++) M[a * K + b] += s * u[a] * v[b];
  }
  for (let j = 0; j < M.length; j++) M[j] += 0.002 * r.normal();
  return M;
}

function Explorer(): ReactElement {
  const [r, setR] = useState(8);
  const [alpha, setAlpha] = useState(16);
  const [decay, setDecay] = useState(1.5);
  const [backend, setBackend] = useState('…');
  useEffect(() => { tf.ready().then(() => setBackend(tf.getBackend())); }, []);
  const svd = useMemo(() => svdJacobi(makeUpdate(decay), D, K), [decay]);
  const total = useMemo(() => svd.S.reduce((s, v) => s + v * v, 0), [svd]);
  const errAt = (k: number) => Math.sqrt(svd.S.slice(k).reduce((s, v) => s + v * v, 0) / total);
  // ΔW_r = U_r diag(S_r) V_rᵀ computed with TF.js on the browser's backend, and its error measured directly
  const measured = useMemo(() => tf.tidy(() => {
    const U = tf.tensor2d(Float32Array.from(svd.U), [D, svd.k]).slice([0, 0], [D, r]);
    const S = tf.tensor1d(Float32Array.from(svd.S.slice(0, r)));
    const Vt = tf.tensor2d(Float32Array.from(svd.Vt), [svd.k, K]).slice([0, 0], [r, K]);
    const approx = tf.matMul(U.mul(S), Vt);
    const full = tf.tensor2d(Float32Array.from(makeUpdate(decay)), [D, K]);
    return tf.norm(tf.sub(full, approx)).dataSync()[0] / tf.norm(full).dataSync()[0];
  }), [svd, r, decay]);
  const idx = Array.from({ length: svd.k }, (_, i) => i + 1);
  const spectrum = useMemo(() => lineChart({ title: `Singular values of ΔW (${D}×${K}); the first r are kept`, x: 'index i', y: { title: 'σᵢ', log: true },
    series: [{ name: 'all', x: idx, y: Array.from(svd.S), mode: 'markers' }, { name: `kept (r = ${r})`, x: idx.slice(0, r), y: Array.from(svd.S.slice(0, r)), mode: 'markers' }] }), [svd, r]);
  const errors = useMemo(() => lineChart({ title: 'Best rank-r approximation error (Eckart–Young)', x: 'rank r', y: { title: '‖ΔW − ΔW_r‖ / ‖ΔW‖', range: [0, 1] },
    series: [{ name: 'error', x: idx, y: idx.map(errAt) }, { name: `r = ${r}`, x: [r], y: [errAt(r)], mode: 'markers' }] }), [svd, r]);
  const a = usePlot(spectrum), b = usePlot(errors);
  return (
    <div className="demo" data-demo="lora" data-draws={a.version + b.version}>
      <div className="demo-controls">
        <label>rank r = {r} <input aria-label="rank" type="range" min={1} max={K} value={r} onChange={(e) => setR(Number(e.target.value))} /></label>
        <label>lora_alpha = {alpha} <input aria-label="alpha" type="range" min={1} max={64} value={alpha} onChange={(e) => setAlpha(Number(e.target.value))} /></label>
        <label>spectrum decay = {decay} <input aria-label="decay" type="range" min={0} max={3} step={0.25} value={decay} onChange={(e) => setDecay(Number(e.target.value))} /></label>
      </div>
      <p className="demo-readout" data-testid="lora-readout">
        LoRA parameters r(d+k) = <strong>{(r * (D + K)).toLocaleString('en-US')}</strong> vs dk = {(D * K).toLocaleString('en-US')} ({((100 * r * (D + K)) / (D * K)).toFixed(1)} %) ·
        relative error <strong>{errAt(r).toFixed(4)}</strong> (measured with TF.js: {measured.toFixed(4)}) · scaling α/r = {(alpha / r).toFixed(3)}, rsLoRA α/√r = {(alpha / Math.sqrt(r)).toFixed(3)} ·
        TF.js backend: <strong data-testid="tf-backend">{backend}</strong>
      </p>
      <div ref={a.ref} /><div ref={b.ref} />
    </div>
  );
}

export default function LoraRankExplorer(): ReactElement {
  return <BrowserOnly fallback={<p>The explorer runs in your browser once the page has loaded.</p>}>{() => <Explorer />}</BrowserOnly>;
}
