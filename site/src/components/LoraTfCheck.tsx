import { useEffect, useMemo, useState, type ReactElement } from 'react';
import * as tf from '@tensorflow/tfjs';
import { D, K, type Spectrum } from './loraModel';

/**
 * The rank-r approximation rebuilt with TF.js on the browser's backend (ΔW_r = U_r diag(S_r) V_rᵀ) and its error
 * measured there: the demo page's check that TF.js in the browser agrees with LoRA Lab's SVD. Loaded on the demo page
 * only; the lesson pages stay free of TF.js.
 */
export default function LoraTfCheck({ s, r }: { s: Spectrum; r: number }): ReactElement {
  const [backend, setBackend] = useState('…');
  useEffect(() => { tf.ready().then(() => setBackend(tf.getBackend())); }, []);
  const measured = useMemo(() => tf.tidy(() => {
    const U = tf.tensor2d(Float32Array.from(s.svd.U), [D, s.svd.k]).slice([0, 0], [D, r]);
    const S = tf.tensor1d(Float32Array.from(s.svd.S.slice(0, r)));
    const Vt = tf.tensor2d(Float32Array.from(s.svd.Vt), [s.svd.k, K]).slice([0, 0], [r, K]);
    const full = tf.tensor2d(Float32Array.from(s.M), [D, K]);
    return tf.norm(tf.sub(full, tf.matMul(U.mul(S), Vt))).dataSync()[0] / tf.norm(full).dataSync()[0];
  }), [s, r]);
  return <> (measured with TF.js: {measured.toFixed(4)}) · TF.js backend: <strong data-testid="tf-backend">{backend}</strong></>;
}
