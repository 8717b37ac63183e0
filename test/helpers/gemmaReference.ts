/**
 * An independent Gemma forward pass in float64 plain JavaScript, written directly from transformers'
 * `modeling_gemma.py` (GemmaRMSNorm, GemmaRotaryEmbedding + rotate_half, GemmaAttention with repeat_kv,
 * GemmaMLP with gelu_pytorch_tanh, embedding normaliser, tied lm_head). It shares no code with lib/ except for
 * reading the safetensors bytes, and it is slow on purpose: loops that read like the equations.
 */
import { SafetensorsReader } from '../../lib/src/io/index.js';

type Mat = { data: Float64Array; rows: number; cols: number };

function bf16ToNumber(bits: number): number {
  const b = new Uint32Array([bits << 16]);
  return new Float32Array(b.buffer)[0];
}

export interface RefWeights {
  get(name: string): Mat;
  has(name: string): boolean;
}

export function readWeights(file: string): RefWeights {
  const r = SafetensorsReader.open(file);
  const cache = new Map<string, Mat>();
  return {
    has: (n) => r.has(n),
    get(name) {
      let m = cache.get(name);
      if (m) return m;
      const t = r.read(name);
      const bytes = new Uint8Array(t.data);
      let vals: Float64Array;
      if (t.dtype === 'BF16') {
        const u16 = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
        vals = Float64Array.from(u16, bf16ToNumber);
      } else if (t.dtype === 'F32') {
        vals = Float64Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4));
      } else throw new Error(`reference reader: unsupported dtype ${t.dtype}`);
      m = { data: vals, rows: t.shape[0], cols: t.shape[1] ?? 1 };
      cache.set(name, m);
      return m;
    },
  };
}

export interface RefConfig {
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  rms_norm_eps: number;
  rope_theta: number;
  vocab_size: number;
  torch_dtype: string;
}

/** y = x Wᵀ for x [T, in], W [out, in]. */
function linear(x: number[][], w: Mat): number[][] {
  return x.map((row) => {
    const out = new Array<number>(w.rows).fill(0);
    for (let o = 0; o < w.rows; o++) {
      let s = 0;
      for (let i = 0; i < w.cols; i++) s += row[i] * w.data[o * w.cols + i];
      out[o] = s;
    }
    return out;
  });
}

function rmsnorm(x: number[][], w: Mat, eps: number): number[][] {
  return x.map((row) => {
    const ms = row.reduce((s, v) => s + v * v, 0) / row.length;
    const inv = 1 / Math.sqrt(ms + eps);
    return row.map((v, i) => v * inv * (1 + w.data[i]));
  });
}

const gelu = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

/** bf16 rounding of a number (round to nearest even), for the normaliser. */
function bf16Round(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer);
  const b = u[0];
  u[0] = ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) << 16;
  return f[0];
}

/** Logits [T][V] for one sequence of token ids, as transformers' GemmaForCausalLM computes them (in exact arithmetic). */
export function referenceLogits(cfg: RefConfig, W: RefWeights, ids: number[], lora?: Map<string, { A: Mat; B: Mat; scaling: number }>): number[][] {
  const H = cfg.hidden_size;
  const hd = cfg.head_dim;
  const nH = cfg.num_attention_heads;
  const nKV = cfg.num_key_value_heads;
  const T = ids.length;
  const emb = W.get('model.embed_tokens.weight');
  const normalizer = cfg.torch_dtype === 'bfloat16' ? bf16Round(Math.sqrt(H)) : Math.fround(Math.sqrt(H));
  let x = ids.map((id) => Array.from(emb.data.subarray(id * H, (id + 1) * H), (v) => v * normalizer));
  // rotary tables: inv_freq = 1 / theta^(2i/d), emb = cat(freqs, freqs)
  const inv = Array.from({ length: hd / 2 }, (_, i) => 1 / cfg.rope_theta ** ((2 * i) / hd));
  const rope = (v: number[], pos: number) => {
    const out = new Array<number>(hd);
    for (let i = 0; i < hd; i++) {
      const a = pos * inv[i % (hd / 2)];
      const rot = i < hd / 2 ? -v[i + hd / 2] : v[i - hd / 2];
      out[i] = v[i] * Math.cos(a) + rot * Math.sin(a);
    }
    return out;
  };
  const proj = (name: string, inp: number[][]) => {
    const y = linear(inp, W.get(`${name}.weight`));
    const l = lora?.get(name);
    if (l) {
      const xa = linear(inp, l.A);
      const xab = linear(xa, l.B);
      for (let t = 0; t < y.length; t++) for (let o = 0; o < y[t].length; o++) y[t][o] += l.scaling * xab[t][o];
    }
    return y;
  };
  for (let L = 0; L < cfg.num_hidden_layers; L++) {
    const p = `model.layers.${L}`;
    const n = rmsnorm(x, W.get(`${p}.input_layernorm.weight`), cfg.rms_norm_eps);
    const q = proj(`${p}.self_attn.q_proj`, n);
    const k = proj(`${p}.self_attn.k_proj`, n);
    const v = proj(`${p}.self_attn.v_proj`, n);
    const attn = Array.from({ length: T }, () => new Array<number>(nH * hd).fill(0));
    for (let h = 0; h < nH; h++) {
      const kvh = Math.floor(h / (nH / nKV)); // repeat_kv
      for (let i = 0; i < T; i++) {
        const qi = rope(q[i].slice(h * hd, (h + 1) * hd), i);
        const scores: number[] = [];
        for (let j = 0; j <= i; j++) {
          const kj = rope(k[j].slice(kvh * hd, (kvh + 1) * hd), j);
          scores.push(qi.reduce((s, qv, d) => s + qv * kj[d], 0) * hd ** -0.5);
        }
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let j = 0; j <= i; j++) for (let d = 0; d < hd; d++) attn[i][h * hd + d] += (e[j] / z) * v[j][kvh * hd + d];
      }
    }
    const o = proj(`${p}.self_attn.o_proj`, attn);
    x = x.map((row, t) => row.map((val, d) => val + o[t][d]));
    const n2 = rmsnorm(x, W.get(`${p}.post_attention_layernorm.weight`), cfg.rms_norm_eps);
    const g = proj(`${p}.mlp.gate_proj`, n2);
    const u = proj(`${p}.mlp.up_proj`, n2);
    const gu = g.map((row, t) => row.map((val, d) => gelu(val) * u[t][d]));
    const down = proj(`${p}.mlp.down_proj`, gu);
    x = x.map((row, t) => row.map((val, d) => val + down[t][d]));
  }
  const hN = rmsnorm(x, W.get('model.norm.weight'), cfg.rms_norm_eps);
  return linear(hN, W.has('lm_head.weight') ? W.get('lm_head.weight') : emb);
}
