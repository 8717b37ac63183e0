import { useEffect, useMemo, useState, type ReactElement } from 'react';
import * as tf from '@tensorflow/tfjs';
import BrowserOnly from '@docusaurus/BrowserOnly';
import { quantize4bit, bitsPerParameter, type QuantState4bit } from '@loralab/quant/quantize4bit.js';
import { dequantizePacked } from '@loralab/quant/blockwise4.js';
import { roundToBf16 } from '@loralab/quant/bf16.js';
import { dequantize4bitWebGpu } from '@loralab/quant/kernels/webgpu.js';
import { NF4_CODE } from '@loralab/quant/codebooks.js';
import { histogram, barChart } from '@loralab/viz/figure.js';
import { drawState } from './usePlot';
import { useSvgPlot } from './useSvgPlot';
import PlotFrame from './PlotFrame';
import { onWebGpu, prepareWebGpuBackend } from './webgpuBackend';
import { DISTS, sampleWeights, type Dist } from './nf4Model';

const BLOCKSIZES = [32, 64, 128, 256, 512, 1024, 4096];
/** The weights as a matrix, for the GPU kernel (n = 128 × 128 = 16,384). */
const SHAPE: [number, number] = [128, 128];
type GpuCheck =
  | { status: 'pending' }
  | { status: 'unavailable' | 'error'; why: string }
  | { status: 'match' | 'mismatch'; n: number; mismatches: number; adapter: string; blocksize: number };

/** Number of elements whose float32 bit patterns differ. */
function bitMismatches(a: Float32Array, b: Float32Array): number {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length), y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let m = Math.abs(x.length - y.length);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) m++;
  return m;
}

/**
 * LoRA Lab's WGSL dequantize kernel on the browser's GPU, checked bit for bit against the CPU kernel on the
 * playground's weights, as float32 and rounded to bf16.
 */
function GpuKernelLine({ state, shape }: { state: QuantState4bit; shape: [number, number] }): ReactElement {
  const [check, setCheck] = useState<GpuCheck>({ status: 'pending' });
  useEffect(() => {
    let live = true;
    setCheck({ status: 'pending' });
    (async (): Promise<GpuCheck> => {
      const gpu = await prepareWebGpuBackend();
      if (!gpu.ok) return { status: 'unavailable', why: gpu.why };
      const { packed, absmax, code, blocksize } = state;
      const n = shape[0] * shape[1];
      const [f32, bf16] = onWebGpu(() => [false, true].map((roundBf16) => dequantize4bitWebGpu(packed, absmax!, code, blocksize, shape, { roundBf16 })));
      try {
        const cpu = dequantizePacked(packed, absmax!, code, blocksize, n);
        const mismatches = bitMismatches((await f32.data()) as Float32Array, cpu) + bitMismatches((await bf16.data()) as Float32Array, roundToBf16(cpu));
        return { status: mismatches === 0 ? 'match' : 'mismatch', n, mismatches, adapter: gpu.adapter, blocksize };
      } finally {
        f32.dispose();
        bf16.dispose();
      }
    })().then(
      (c) => { if (live) setCheck(c); },
      (e: unknown) => { if (live) setCheck({ status: 'error', why: e instanceof Error ? e.message : String(e) }); },
    );
    return () => { live = false; };
  }, [state, shape[0], shape[1]]);
  let text: string;
  switch (check.status) {
    case 'pending': text = 'WebGPU (WGSL) kernel: checking…'; break;
    case 'unavailable': text = `WebGPU is not available in this browser (${check.why}), so the WGSL dequantize kernel is not run`; break;
    case 'error': text = `WebGPU (WGSL) kernel failed: ${check.why}`; break;
    default: {
      const head = `WebGPU (WGSL) kernel on ${check.adapter}: ${check.n.toLocaleString('en-US')} values`;
      text = check.status === 'match'
        ? `${head}, identical to the CPU kernel (as float32 and rounded to bf16)`
        : `${head}: ${check.mismatches.toLocaleString('en-US')} of ${(2 * check.n).toLocaleString('en-US')} (float32 and bf16) differ from the CPU kernel`;
    }
  }
  return <p className="demo-readout" data-testid="nf4-gpu-kernel" data-status={check.status} data-blocksize={'blocksize' in check ? check.blocksize : undefined}>{text}</p>;
}

function Playground(): ReactElement {
  const [dist, setDist] = useState<Dist>('normal');
  const [blocksize, setBlocksize] = useState(64);
  const [backend, setBackend] = useState('…');
  useEffect(() => { tf.ready().then(() => setBackend(tf.getBackend())); }, []);
  const n = SHAPE[0] * SHAPE[1];
  const result = useMemo(() => {
    const x = sampleWeights(dist, n, 1);
    const t0 = performance.now();
    const q = quantize4bit(x, { quantType: 'nf4', blocksize, trace: true });
    const ms = performance.now() - t0;
    const dq = quantize4bit(x, { quantType: 'nf4', blocksize, doubleQuant: true });
    const t = q.trace!;
    const rms = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((s, v) => s + v * v, 0) / a.length);
    const counts = new Array(16).fill(0);
    for (const c of t.codes) counts[c]++;
    return { x, t, state: q.state, ms, relErr: rms(t.error) / rms(x), bits: bitsPerParameter(q.state).total, bitsDq: bitsPerParameter(dq.state).total, counts };
  }, [dist, blocksize]);
  // the same relative error computed by TF.js on the browser's backend, from the dequantized weights: read back
  // asynchronously (no dataSync), so a change redraws the charts without waiting for the GPU round trip
  const [tfRelErr, setTfRelErr] = useState<number | null>(null);
  useEffect(() => {
    let live = true;
    setTfRelErr(null);
    const ratio = tf.tidy(() => { const a = tf.tensor1d(result.x), b = tf.tensor1d(result.t.dequantized); return tf.div(tf.norm(tf.sub(b, a)), tf.norm(a)); });
    ratio.data().then((v) => { if (live) setTfRelErr(v[0]); }).finally(() => ratio.dispose());
    return () => { live = false; };
  }, [result]);
  const values = useMemo(() => histogram({ title: `${n.toLocaleString('en-US')} weights (${dist})`, x: 'value', series: [{ name: 'weights', values: result.x }], bins: 80 }), [result, dist]);
  const codes = useMemo(() => barChart({ title: `NF4 codes used (blocksize ${blocksize})`, x: 'code', y: 'count', categories: Array.from(NF4_CODE, (_, i) => String(i)), series: [{ name: 'count', values: result.counts }] }), [result, blocksize]);
  const errors = useMemo(() => histogram({ title: 'Quantization error (dequantized − original)', x: 'error', series: [{ name: 'error', values: result.t.error }], bins: 80 }), [result]);
  const a = useSvgPlot(values), b = useSvgPlot(codes), c = useSvgPlot(errors);
  return (
    <div className="demo" data-demo="nf4" {...drawState([a, b, c])}>
      <div className="demo-controls">
        <label>Distribution <select aria-label="distribution" value={dist} onChange={(e) => setDist(e.target.value as Dist)}>
          {DISTS.map((d) => <option key={d}>{d}</option>)}
        </select></label>
        <label>Blocksize <select aria-label="blocksize" value={blocksize} onChange={(e) => setBlocksize(Number(e.target.value))}>
          {BLOCKSIZES.map((b) => <option key={b} value={b}>{b}</option>)}
        </select></label>
      </div>
      <p className="demo-readout" data-testid="nf4-readout">
        RMS error / RMS weight: <strong>{result.relErr.toFixed(4)}</strong> (TF.js on <strong data-testid="tf-backend">{tfRelErr === null ? '…' : backend}</strong>: {tfRelErr === null ? '…' : tfRelErr.toFixed(4)}) · bits per parameter: <strong>{result.bits.toFixed(3)}</strong>{' '}
        ({result.bitsDq.toFixed(3)} with double quantization) · {result.t.absmax.length} blocks · quantized in {result.ms.toFixed(1)} ms by LoRA Lab's own code
      </p>
      <GpuKernelLine state={result.state} shape={SHAPE} />
      <PlotFrame fig={values} plot={a} /><PlotFrame fig={codes} plot={b} /><PlotFrame fig={errors} plot={c} />
    </div>
  );
}

export default function Nf4Playground(): ReactElement {
  return <BrowserOnly fallback={<p>The playground runs in your browser once the page has loaded.</p>}>{() => <Playground />}</BrowserOnly>;
}
