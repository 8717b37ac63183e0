/**
 * Gemma (transformers `modeling_gemma.py`) in TF.js, module for module and name for name:
 *
 *   h0 = embed_tokens(ids) · √hidden            (√hidden rounded to the checkpoint dtype: 45.25 for Gemma-2B in bf16)
 *   per layer:  h = x + o_proj(attn(input_layernorm(x)));   out = h + down_proj(gelu_tanh(gate_proj(n)) · up_proj(n)),
 *               n = post_attention_layernorm(h)
 *   logits = norm(h_L) · Eᵀ                      (lm_head tied to the embedding)
 *
 * Attention is multi-query when num_key_value_heads < num_attention_heads (Gemma-2B: 8 query heads share 1 key/value
 * head), scores are scaled by head_dim^-½, RoPE uses the halves layout, and softmax runs in float32.
 */
import * as tf from '@tensorflow/tfjs';
import { roundScalarToBf16 } from '../../numerics/bf16.js';
import { Module, ModuleList, addInto } from '../../layers/module.js';
import { Embedding } from '../../layers/embedding.js';
import { GemmaRMSNorm } from '../../layers/norm.js';
import { geluTanh } from '../../layers/activations.js';
import type { Linear, Linear4bit, LinearLike, MetaLinear } from '../../layers/linear.js';
import type { LoraLinear } from '../../layers/lora.js';
import { checkSequenceLength, type GemmaConfig } from './config.js';
import { applyRope, ropeTables } from './rope.js';
import { fusedDecoderLayer, fusedLayerForwardSaved, fusedLayerVjp } from './fusedLayer.js';

export type AnyLinear = Linear | Linear4bit | LoraLinear | MetaLinear;

const MASKED = -1e9;

export interface ForwardOptions {
  /** [B][T], 1 for real tokens and 0 for padding (keys at padding positions are masked out). */
  attentionMask?: number[][];
}

/**
 * Keys and values placed before the sequence's own in one attention layer, [B, nKV, P, hd] each, not rotated. The
 * model only offers the hook point; prefix tuning (peft/methods.ts) attaches its trainable prefixes here.
 */
export interface KvPrefix {
  readonly length: number;
  keysValues(batch: number, numKeyValueHeads: number, headDim: number): { keys: tf.Tensor4D; values: tf.Tensor4D };
}

/** A module that maps a sublayer's output x [B, T, H] to a new one before the residual add. */
export type OutputHook = Module & { forward(x: tf.Tensor): tf.Tensor };

export class GemmaAttention extends Module {
  private kvPrefix: KvPrefix | null = null;
  constructor(readonly cfg: GemmaConfig, q: AnyLinear, k: AnyLinear, v: AnyLinear, o: AnyLinear) {
    super();
    this.register('q_proj', q);
    this.register('k_proj', k);
    this.register('v_proj', v);
    this.register('o_proj', o);
  }
  /** Hook point: keys/values before the sequence's. Not a child: the method that attaches it owns its weights. */
  attachKvPrefix(prefix: KvPrefix | null): void {
    this.kvPrefix = prefix;
  }
  /** P, the number of prefix positions every query also attends to (0 without a prefix). */
  get prefixLength(): number {
    return this.kvPrefix?.length ?? 0;
  }
  proj(name: 'q_proj' | 'k_proj' | 'v_proj' | 'o_proj'): LinearLike {
    return this.getChild(name) as unknown as LinearLike;
  }
  forward(x: tf.Tensor3D, rope: { cos: tf.Tensor2D; sin: tf.Tensor2D }, mask: tf.Tensor4D): tf.Tensor3D {
    return tf.tidy(() => {
      const { numAttentionHeads: nH, numKeyValueHeads: nKV, headDim: hd } = this.cfg;
      const [B, T] = x.shape;
      const heads = (t: tf.Tensor, n: number) => t.reshape([B, T, n, hd]).transpose([0, 2, 1, 3]) as tf.Tensor4D;
      const q = applyRope(heads(this.proj('q_proj').forward(x), nH), rope.cos, rope.sin);
      let k = applyRope(heads(this.proj('k_proj').forward(x), nKV), rope.cos, rope.sin);
      let v = heads(this.proj('v_proj').forward(x), nKV);
      if (this.kvPrefix) {
        const p = this.kvPrefix.keysValues(B, nKV, hd);
        k = tf.concat([p.keys, k], 2);
        v = tf.concat([p.values, v], 2);
      }
      // repeat_kv without copying: query head h uses key/value head h / groups, so the groups' queries are stacked
      // along the sequence axis of their shared key/value head: [B, nKV, groups·T, hd].
      const groups = nH / nKV;
      const S = k.shape[2];
      const qg = q.reshape([B, nKV, groups * T, hd]);
      const scores = tf.matMul(qg, k, false, true).reshape([B, nH, T, S]).mul(hd ** -0.5).add(mask);
      const probs = tf.softmax(scores, -1).reshape([B, nKV, groups * T, S]);
      const out = tf.matMul(probs, v).reshape([B, nH, T, hd]).transpose([0, 2, 1, 3]).reshape([B, T, nH * hd]);
      return this.proj('o_proj').forward(out) as tf.Tensor3D;
    });
  }
}

export class GemmaMLP extends Module {
  constructor(gate: AnyLinear, up: AnyLinear, down: AnyLinear) {
    super();
    this.register('gate_proj', gate);
    this.register('up_proj', up);
    this.register('down_proj', down);
  }
  private lin(name: string): LinearLike {
    return this.getChild(name) as unknown as LinearLike;
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.lin('down_proj').forward(geluTanh(this.lin('gate_proj').forward(x)).mul(this.lin('up_proj').forward(x))));
  }
}

export class GemmaDecoderLayer extends Module {
  readonly selfAttn: GemmaAttention;
  readonly mlp: GemmaMLP;
  readonly inputLayernorm: GemmaRMSNorm;
  readonly postAttentionLayernorm: GemmaRMSNorm;
  /** What runs on the attention block's and the MLP's outputs before each residual add (hook points; none by default). */
  private readonly outputHooks: Record<'attn' | 'mlp', OutputHook | null> = { attn: null, mlp: null };
  constructor(attn: GemmaAttention, mlp: GemmaMLP, inNorm: GemmaRMSNorm, postNorm: GemmaRMSNorm) {
    super();
    this.inputLayernorm = this.register('input_layernorm', inNorm);
    this.selfAttn = this.register('self_attn', attn);
    this.postAttentionLayernorm = this.register('post_attention_layernorm', postNorm);
    this.mlp = this.register('mlp', mlp);
  }
  /** Hook point: `hook` maps the `point` sublayer's output (bottleneck adapters attach here from peft/). */
  attachOutputHook(point: 'attn' | 'mlp', name: string, hook: OutputHook): void {
    this.outputHooks[point] = this.register(name, hook);
  }
  /** Whether a hook runs on a sublayer's output (then the layer is not one fused op). */
  hasOutputHooks(): boolean {
    return this.outputHooks.attn !== null || this.outputHooks.mlp !== null;
  }
  forward(x: tf.Tensor3D, rope: { cos: tf.Tensor2D; sin: tf.Tensor2D }, mask: tf.Tensor4D): tf.Tensor3D {
    // one native op where the native kernels are on and the layer is plain (fusedLayer.ts); these ops otherwise
    return tf.tidy(() => fusedDecoderLayer(this, x, rope, mask) ?? this.forwardReference(x, rope, mask));
  }
  /** The layer in TF.js ops: the reference the native op is tested against. */
  forwardReference(x: tf.Tensor3D, rope: { cos: tf.Tensor2D; sin: tf.Tensor2D }, mask: tf.Tensor4D): tf.Tensor3D {
    return tf.tidy(() => {
      let a: tf.Tensor = this.selfAttn.forward(this.inputLayernorm.forward(x) as tf.Tensor3D, rope, mask);
      if (this.outputHooks.attn) a = this.outputHooks.attn.forward(a);
      const h = x.add(a);
      let m = this.mlp.forward(this.postAttentionLayernorm.forward(h));
      if (this.outputHooks.mlp) m = this.outputHooks.mlp.forward(m);
      return h.add(m) as tf.Tensor3D;
    });
  }
}

export class GemmaModel extends Module {
  readonly embedTokens: Embedding;
  readonly layers: GemmaDecoderLayer[];
  readonly norm: GemmaRMSNorm;
  /**
   * Gradient checkpointing: keep only each layer's input during the forward pass and recompute the layer in the
   * backward pass (memory of one layer's activations instead of all of them, for about one more forward of compute).
   * Used by `GemmaForCausalLM.valueAndGrads`.
   */
  gradientCheckpointing = false;
  constructor(readonly cfg: GemmaConfig, embed: Embedding, layers: GemmaDecoderLayer[], norm: GemmaRMSNorm) {
    super();
    this.embedTokens = this.register('embed_tokens', embed);
    const list = this.register('layers', new ModuleList());
    layers.forEach((l, i) => list.add(String(i), l));
    this.layers = layers;
    this.norm = this.register('norm', norm);
  }

  /** √hidden as transformers computes it: a tensor of the hidden states' dtype (bf16 -> 45.25 for 2048). */
  get normalizer(): number {
    const s = Math.sqrt(this.cfg.hiddenSize);
    return this.cfg.torchDtype === 'bfloat16' ? roundScalarToBf16(s) : Math.fround(s);
  }

  context(B: number, T: number, P: number, opts: ForwardOptions): { mask: tf.Tensor4D; rope: { cos: tf.Tensor2D; sin: tf.Tensor2D } } {
    checkSequenceLength(this.cfg, T);
    return { mask: causalMask(B, T, P, opts.attentionMask), rope: ropeTables(Array.from({ length: T }, (_, t) => t), this.cfg.headDim, this.cfg.ropeTheta) };
  }

  /** `fn` with the mask and RoPE tables of `ids` (P prefix positions counted), which are freed afterwards. */
  withContext<R>(ids: number[][], opts: ForwardOptions, fn: (ctx: { mask: tf.Tensor4D; rope: { cos: tf.Tensor2D; sin: tf.Tensor2D } }) => R): R {
    const ctx = this.context(ids.length, ids[0].length, this.layers[0]?.selfAttn.prefixLength ?? 0, opts);
    try {
      return fn(ctx);
    } finally {
      ctx.mask.dispose();
      ctx.rope.cos.dispose();
      ctx.rope.sin.dispose();
    }
  }

  /** h0 = embed_tokens(ids) · √hidden, [B, T, H]. */
  embed(ids: number[][]): tf.Tensor3D {
    return tf.tidy(() => this.embedTokens.forward(ids).mul(this.normalizer) as tf.Tensor3D);
  }

  /** Final hidden states [B, T, H] (after the last norm). */
  forward(ids: number[][], opts: ForwardOptions = {}): tf.Tensor3D {
    return this.withContext(ids, opts, (ctx) => tf.tidy(() => {
      let h = this.embed(ids);
      for (const layer of this.layers) h = layer.forward(h, ctx.rope, ctx.mask);
      return this.norm.forward(h) as tf.Tensor3D;
    }));
  }
}

/** Additive mask [B, 1, T, P+T]: prefixes always visible, causal over the sequence, padding keys hidden. */
export function causalMask(B: number, T: number, P: number, attentionMask?: number[][]): tf.Tensor4D {
  const S = P + T;
  const m = new Float32Array(B * T * S);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < T; i++) {
      for (let j = 0; j < S; j++) {
        const t = j - P;
        const visible = t <= i && (t < 0 || !attentionMask || attentionMask[b][t] !== 0);
        m[(b * T + i) * S + j] = visible ? 0 : MASKED;
      }
    }
  }
  return tf.tensor4d(m, [B, 1, T, S]);
}

/** Adds `res`'s gradients of `vars` into `grads`; returns its value tensor, the caller's to read or free. */
function collectGrads(grads: Map<tf.Variable, tf.Tensor>, res: { value: tf.Scalar; grads: Record<string, tf.Tensor> }, vars: tf.Variable[]): tf.Scalar {
  for (const v of vars) if (res.grads[v.name]) addInto(grads, v, res.grads[v.name]);
  return res.value;
}

/** A scalar tensor's value; the tensor is freed. */
function readScalar(t: tf.Scalar): number {
  try {
    return t.dataSync()[0];
  } finally {
    t.dispose();
  }
}

/**
 * `f(x)`'s gradients of `vars` added into `grads`, with its value and its gradient in `x` (new tensors, the caller's
 * to free): one step of checkpointed backpropagation.
 */
function gradThrough(grads: Map<tf.Variable, tf.Tensor>, x: tf.Tensor3D, f: (x: tf.Tensor3D) => tf.Scalar, vars: tf.Variable[]): { value: tf.Scalar; dx: tf.Tensor } {
  const xv = tf.variable(x, true);
  try {
    const res = tf.variableGrads(() => f(xv as unknown as tf.Tensor3D), [xv, ...vars]);
    return { value: collectGrads(grads, res, vars), dx: res.grads[xv.name] };
  } finally {
    xv.dispose();
  }
}

export class GemmaForCausalLM extends Module {
  readonly model: GemmaModel;
  /** An untied output head, when the checkpoint has one. */
  readonly lmHead: Embedding | null;
  constructor(readonly config: GemmaConfig, model: GemmaModel, lmHead: Embedding | null = null) {
    super();
    this.model = this.register('model', model);
    this.lmHead = lmHead ? this.register('lm_head', lmHead) : null;
  }

  /** Logits [B, T, V]. */
  forward(ids: number[][], opts: ForwardOptions = {}): tf.Tensor3D {
    const h = this.model.forward(ids, opts);
    try {
      return (this.lmHead ?? this.model.embedTokens).project(h) as tf.Tensor3D;
    } finally {
      h.dispose();
    }
  }

  /**
   * Loss and gradients of `lossOfHidden(final hidden states)` for `vars`. Without checkpointing this is one
   * tf.variableGrads over the whole model. With `model.gradientCheckpointing`, backpropagation runs layer by layer:
   * the forward pass keeps only each layer's input; then, from the top, each layer is run again under its own
   * gradient tape to turn dL/d(output) into dL/d(input) and its variables' gradients.
   */
  valueAndGrads(ids: number[][], opts: ForwardOptions, lossOfHidden: (h: tf.Tensor3D) => tf.Scalar, vars: tf.Variable[]): { value: number; grads: Map<tf.Variable, tf.Tensor> } {
    const grads = new Map<tf.Variable, tf.Tensor>();
    const m = this.model;
    if (!m.gradientCheckpointing) {
      const value = readScalar(collectGrads(grads, tf.variableGrads(() => lossOfHidden(m.forward(ids, opts)), vars), vars));
      return { value, grads };
    }
    return m.withContext(ids, opts, (ctx) => {
      const inputs: tf.Tensor3D[] = [];
      // the top layer's intermediates, kept by the native op: its backward follows its forward at once
      let top: ReturnType<typeof fusedLayerForwardSaved> = null;
      try {
        // forward: keep each layer's input only (and the top layer's intermediates where the native op runs it)
        let h = m.embed(ids);
        for (const [l, layer] of m.layers.entries()) {
          inputs.push(h);
          const x = h;
          if (l === m.layers.length - 1) top = fusedLayerForwardSaved(layer, x, ctx.rope, ctx.mask);
          h = top ? top.y : tf.tidy(() => layer.forward(x, ctx.rope, ctx.mask));
        }
        // top: final norm, head and loss, differentiated also in the last hidden states
        const head = gradThrough(grads, h, (x) => lossOfHidden(m.norm.forward(x) as tf.Tensor3D), vars);
        h.dispose();
        const value = readScalar(head.value);
        let dy = head.dx;
        // then from the top layer down: dL/d(input) = the layer's vector-Jacobian product with dL/d(output)
        for (let l = m.layers.length - 1; l >= 0; l--) {
          const layer = m.layers[l];
          const dyl = dy;
          const fused = l === m.layers.length - 1 && top ? top.vjp(dyl as tf.Tensor3D) : fusedLayerVjp(layer, inputs[l], dyl as tf.Tensor3D, ctx.rope, ctx.mask);
          if (fused) {
            for (const [v, g] of fused.grads) {
              if (vars.includes(v)) addInto(grads, v, g);
              else g.dispose();
            }
            dy.dispose();
            dy = fused.dx;
            continue;
          }
          const step = gradThrough(grads, inputs[l], (x) => tf.sum(layer.forward(x, ctx.rope, ctx.mask).mul(dyl)) as tf.Scalar, vars);
          step.value.dispose();
          dy.dispose();
          dy = step.dx;
        }
        const emb = m.embedTokens.variable;
        if (emb && vars.includes(emb)) {
          const dy0 = dy;
          collectGrads(grads, tf.variableGrads(() => tf.sum(m.embed(ids).mul(dy0)) as tf.Scalar, [emb]), [emb]).dispose();
        }
        dy.dispose();
        return { value, grads };
      } finally {
        top?.dispose();
        for (const t of inputs) t.dispose();
      }
    });
  }

  /** Logits of one sequence as a Float32Array [T, V] (no BOS added). */
  logits(ids: number[]): Float32Array {
    const t = this.forward([ids]);
    try {
      return t.dataSync() as Float32Array;
    } finally {
      t.dispose();
    }
  }
}
