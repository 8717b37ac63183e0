/**
 * A Gemma decoder layer as one native op (lib/native/src/gemma_layer.cc) where the native kernels are on: the same
 * function as GemmaDecoderLayer's TF.js ops (model.ts, the reference), forward in one call and backward in one call,
 * registered with TF.js as a custom gradient so that autodiff, gradient checkpointing and the trainer see one op.
 *
 * The op takes over a layer only when it computes exactly what the reference does: no output hooks (bottleneck
 * adapters) and no key/value prefix (prefix tuning), no biases, every projection a Linear, a Linear4bit, or a
 * LoraLinear over one of those without dropout while training. Anything else returns null
 * and the caller runs the reference ops. `LORALAB_FUSED_LAYER=0` turns the op off (for comparisons).
 *
 * Inputs of the custom gradient: x and every trainable tensor the layer reads (LoRA A and B; with full fine-tuning
 * also the weights and norms), so that each gets its gradient from the op's backward. The forward's intermediates
 * are heap tensors saved for the backward. A 4-bit weight goes in as its codes and absmax: the op dequantizes it in
 * pieces of at most CACHED_PIECE_ELEMENTS values (backend/nativePieces.ts: read from cache) right before each product,
 * forward and backward, so no dense copy outlives a product.
 */
import * as tf from '@tensorflow/tfjs';
import { heapOffset, wasmHeap } from '../../backend/heap.js';
import { activeNativeAddon } from '../../backend/nativeKernels.js';
import type { NativeAddon } from '../../backend/native.js';
import { Linear, Linear4bit } from '../../layers/linear.js';
import { recoveredAbsmax } from '../../backend/dequantize.js';
import { LoraLinear } from '../../layers/lora.js';
import type { GemmaRMSNorm } from '../../layers/norm.js';
import { InternalError } from '../../util/errors.js';
import { CACHED_PIECE_ELEMENTS } from '../../backend/nativePieces.js';
import type { GemmaDecoderLayer } from './model.js';

const PROJECTIONS = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const;
type ProjName = (typeof PROJECTIONS)[number];

/** A 4-bit weight as the op takes it: codes, absmax (double quantization undone), codebook, blocksize. */
type Quant4bitArgs = [Uint8Array, Float32Array, Float32Array, number];

/** What the op needs of one projection: its weight, and its adapter. */
interface ProjPlan {
  /** A dense base weight [out, in]; null for a 4-bit one. */
  dense: tf.Tensor2D | null;
  /** A 4-bit base weight, which the op dequantizes piece by piece right before each product; its absmax recovered into slot's buffer. */
  quant: ((slot: number) => Quant4bitArgs) | null;
  /** Round the input to bf16 before the base product (a 4-bit weight with bf16 compute). */
  bf16: boolean;
  /** A trainable dense base weight (full fine-tuning). */
  trainW: tf.Variable | null;
  lora: { a: tf.Variable; b: tf.Variable; r: number; scale: number } | null;
}

interface LayerPlan {
  proj: Record<ProjName, ProjPlan>;
  wIn: tf.Variable;
  wPost: tf.Variable;
}

/** The fields' order the built addon reads (gemma_layer.cc's kFields), read once: a field's index in the descriptor. */
let fieldIndex: Map<string, number> | null = null;
export function descriptorFields(addon: NativeAddon): Map<string, number> {
  if (!fieldIndex) fieldIndex = new Map(addon.gemmaLayerFields.split(',').map((n, i) => [n, i]));
  return fieldIndex;
}

/**
 * One buffer per projection for its recovered absmax, reused from call to call: the op reads them only during the
 * call, and a new array per call (a 253M layer's 428K values, at every forward, recomputation and backward) cost
 * about 30 ms a step in allocation and zero-filling.
 */
const absmaxSlots: Float32Array[] = [];

function basePlan(base: unknown): Omit<ProjPlan, 'lora'> | null {
  if (base instanceof Linear) {
    if (base.bias) return null;
    return { dense: base.weight as unknown as tf.Tensor2D, quant: null, bf16: false, trainW: base.weight.trainable ? base.weight : null };
  }
  if (base instanceof Linear4bit) {
    if (base.bias || base.state.blocksize % 2 !== 0) return null;
    const quant = (slot: number): Quant4bitArgs => {
      const st = base.state;
      const n = st.doubleQuant ? st.doubleQuant.qabsmax.length : 0;
      if (n > (absmaxSlots[slot]?.length ?? 0)) absmaxSlots[slot] = new Float32Array(n);
      return [st.packed, recoveredAbsmax(st, absmaxSlots[slot]), st.code, st.blocksize];
    };
    return { dense: null, quant, bf16: base.computeDtype === 'bfloat16', trainW: null };
  }
  return null;
}

function projPlan(m: unknown, training: boolean): ProjPlan | null {
  if (m instanceof LoraLinear) {
    if (training && m.loraDropout > 0) return null;
    const base = basePlan(m.baseLayer);
    if (!base) return null;
    return { ...base, lora: m.merged ? null : { a: m.loraA, b: m.loraB, r: m.r, scale: m.scaling } };
  }
  const base = basePlan(m);
  return base && { ...base, lora: null };
}

/** The layer as the native op sees it, or null when the op does not compute what the layer does. */
function planLayer(layer: GemmaDecoderLayer): LayerPlan | null {
  if (layer.hasOutputHooks() || layer.selfAttn.prefixLength > 0) return null;
  const attn = layer.selfAttn;
  const mlp = layer.mlp;
  const mods: Record<ProjName, unknown> = {
    q: attn.getChild('q_proj'), k: attn.getChild('k_proj'), v: attn.getChild('v_proj'), o: attn.getChild('o_proj'),
    gate: mlp.getChild('gate_proj'), up: mlp.getChild('up_proj'), down: mlp.getChild('down_proj'),
  };
  const proj = {} as Record<ProjName, ProjPlan>;
  for (const p of PROJECTIONS) {
    const plan = projPlan(mods[p], layer.training);
    if (!plan) return null;
    proj[p] = plan;
  }
  return { proj, wIn: layer.inputLayernorm.weight, wPost: layer.postAttentionLayernorm.weight };
}

// a trainable tensor gets its gradient in eval mode too, as with the reference ops (the mode only switches dropout)
const trainable = (v: tf.Variable | null): v is tf.Variable => !!v && v.trainable;

/** The tensors whose gradients the op returns, in a fixed order, each with the descriptor field it is written to. */
function gradTargets(plan: LayerPlan): { v: tf.Variable; field: string }[] {
  const out: { v: tf.Variable; field: string }[] = [];
  if (trainable(plan.wIn)) out.push({ v: plan.wIn, field: 'dwIn' });
  if (trainable(plan.wPost)) out.push({ v: plan.wPost, field: 'dwPost' });
  for (const p of PROJECTIONS) {
    const pp = plan.proj[p];
    if (pp.trainW) out.push({ v: pp.trainW, field: `${p}.dw` });
    if (pp.lora && trainable(pp.lora.a)) out.push({ v: pp.lora.a, field: `${p}.da` });
    if (pp.lora && trainable(pp.lora.b)) out.push({ v: pp.lora.b, field: `${p}.db` });
  }
  return out;
}

/** The saved intermediates, by descriptor field, with their shapes. */
function savedShapes(cfg: GemmaDecoderLayer['selfAttn']['cfg'], B: number, T: number, plan: LayerPlan): [string, number[]][] {
  const { hiddenSize: H, numAttentionHeads: nH, numKeyValueHeads: nKV, headDim: hd, intermediateSize: I } = cfg;
  const N = B * T;
  const out: [string, number[]][] = [
    ['n1', [N, H]], ['rstd1', [N]], ['q', [B, nH, T, hd]], ['k', [B, nKV, T, hd]], ['v', [B, nKV, T, hd]], ['p', [B, nH, T, T]],
    ['ao', [N, nH * hd]], ['h', [N, H]], ['n2', [N, H]], ['rstd2', [N]], ['g', [N, I]], ['u', [N, I]], ['m', [N, I]],
  ];
  for (const p of PROJECTIONS) if (plan.proj[p].lora) out.push([`${p}.xa`, [N, plan.proj[p].lora!.r]]);
  return out;
}

/** What both entry points share: the layer's plan, and how to describe and allocate its tensors for the addon. */
function prepare(layer: GemmaDecoderLayer, x: tf.Tensor3D, mask: tf.Tensor4D) {
  const addon = activeNativeAddon();
  const heap = wasmHeap();
  if (!addon || typeof addon.gemmaLayer !== 'function' || !heap || !(heap.memory.buffer instanceof ArrayBuffer)) return null;
  if (process.env.LORALAB_FUSED_LAYER === '0') return null;
  const [B, T, H] = x.shape;
  if (x.dtype !== 'float32' || mask.shape[3] !== T) return null;
  const plan = planLayer(layer);
  if (!plan) return null;
  const cfg = layer.selfAttn.cfg;
  const index = descriptorFields(addon);
  const { backend } = heap;

  /** The descriptor: dims, then each named tensor's heap offset; read after every allocation (the heap may grow). */
  const describe = (tensors: Map<string, tf.Tensor>, extra: Map<string, number>): Float64Array => {
    const d = new Float64Array(index.size).fill(-1);
    const put = (name: string, v: number) => {
      const i = index.get(name);
      if (i === undefined) throw new InternalError(`the native layer has no field ${name}`);
      d[i] = v;
    };
    put('B', B); put('T', T); put('H', H); put('nH', cfg.numAttentionHeads); put('nKV', cfg.numKeyValueHeads);
    put('hd', cfg.headDim); put('I', cfg.intermediateSize); put('eps', cfg.rmsNormEps);
    put('piece', CACHED_PIECE_ELEMENTS);
    for (const [name, t] of tensors) put(name, heapOffset(backend, t));
    for (const [name, v] of extra) put(name, v);
    return d;
  };
  const alloc = (shape: number[]) => tf.engine().makeTensorFromTensorInfo(backend.makeOutput(shape, 'float32'));
  /** Weights and adapters by field, and the 4-bit weights (null for a dense one) in projection order. */
  const weights = (ctx: [tf.Tensor, tf.Tensor, tf.Tensor]): { tensors: Map<string, tf.Tensor>; extra: Map<string, number>; quant: (Quant4bitArgs | null)[] } => {
    const tensors = new Map<string, tf.Tensor>([['cos', ctx[0]], ['sin', ctx[1]], ['mask', ctx[2]], ['wIn', plan.wIn], ['wPost', plan.wPost]]);
    const extra = new Map<string, number>();
    const quant = PROJECTIONS.map((p, slot) => {
      const pp = plan.proj[p];
      if (pp.dense) tensors.set(`${p}.w`, pp.dense);
      extra.set(`${p}.bf16`, pp.bf16 ? 1 : 0);
      if (pp.lora) {
        tensors.set(`${p}.a`, pp.lora.a);
        tensors.set(`${p}.b`, pp.lora.b);
        extra.set(`${p}.r`, pp.lora.r);
        extra.set(`${p}.scale`, pp.lora.scale);
      }
      return pp.quant ? pp.quant(slot) : null;
    });
    return { tensors, extra, quant };
  };
  const run = (tensors: Map<string, tf.Tensor>, w: ReturnType<typeof weights>, backward: boolean) =>
    addon.gemmaLayer(heap.memory.buffer as ArrayBuffer, describe(tensors, w.extra), backward, w.quant);
  const shapes = savedShapes(cfg, B, T, plan);
  const targets = gradTargets(plan);
  /** The intermediates' tensors, fresh, for `forward` to write and `backward` to read. */
  const allocSaved = () => shapes.map(([, s]) => alloc(s));
  const named = (saved: tf.Tensor[]) => shapes.map(([n], i) => [n, saved[i]] as [string, tf.Tensor]);
  /** The forward into `saved`; with y, the layer's output too (without, a checkpointed layer's recomputation). */
  const forward = (w: ReturnType<typeof weights>, xIn: tf.Tensor, saved: tf.Tensor[], y?: tf.Tensor) =>
    run(new Map([...w.tensors, ['x', xIn], ...(y ? [['y', y] as [string, tf.Tensor]] : []), ...named(saved)]), w, false);
  /** The backward from `saved`: dx and the gradient of each trainable tensor, in `targets` order (new tensors). */
  const backward = (w: ReturnType<typeof weights>, xIn: tf.Tensor, dy: tf.Tensor, saved: tf.Tensor[]) => {
    const dx = alloc([B, T, H]) as tf.Tensor3D;
    const grads = targets.map((t) => alloc([...t.v.shape]));
    run(new Map<string, tf.Tensor>([...w.tensors, ['x', xIn], ['dy', dy], ['dx', dx], ...named(saved), ...targets.map((t, i) => [t.field, grads[i]] as [string, tf.Tensor])]), w, true);
    return { dx, grads, byVariable: new Map(targets.map((t, i) => [t.v, grads[i]])) };
  };
  return { B, T, H, targets, alloc, weights, allocSaved, forward, backward };
}

/**
 * y = layer(x) by the native op, or null where it does not apply (then the caller runs the reference). `mask` is the
 * additive [B, 1, T, T] mask and `rope` the [T, head_dim] tables, as the reference takes them.
 */
export function fusedDecoderLayer(layer: GemmaDecoderLayer, x: tf.Tensor3D, rope: { cos: tf.Tensor2D; sin: tf.Tensor2D }, mask: tf.Tensor4D): tf.Tensor3D | null {
  const f = prepare(layer, x, mask);
  if (!f) return null;
  const { B, T, H, targets, alloc, weights, allocSaved, forward, backward } = f;
  // (the backward gets the mask and the tables from what the forward saved: the caller frees its own after the forward)
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xIn = args[0] as tf.Tensor3D;
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const saved = allocSaved();
    const y = alloc([B, T, H]);
    forward(weights([rope.cos, rope.sin, mask]), xIn, saved, y);
    save([xIn, rope.cos, rope.sin, mask, ...saved]);
    return {
      value: y as tf.Tensor3D,
      gradFunc: (dy: tf.Tensor, s: tf.Tensor[]) => {
        const [xs, cos, sin, m, ...rest] = s;
        const { dx, grads } = backward(weights([cos, sin, m]), xs, dy, rest);
        return [dx, ...grads];
      },
    };
  });
  return op(x, ...targets.map((t) => t.v)) as tf.Tensor3D;
}

/**
 * The layer's forward by the native op with its intermediates kept, and its backward from them later (the top layer
 * of a checkpointed pass: its backward comes right after the forward, so running it again would be pure waste).
 * `vjp(dy)` turns dy into dx and the gradients of the layer's trainable tensors (new tensors, the caller's to free)
 * and frees the intermediates; `dispose()` frees them without a backward. Null where the op does not apply.
 */
export function fusedLayerForwardSaved(layer: GemmaDecoderLayer, x: tf.Tensor3D, rope: { cos: tf.Tensor2D; sin: tf.Tensor2D }, mask: tf.Tensor4D): { y: tf.Tensor3D; vjp: (dy: tf.Tensor3D) => { dx: tf.Tensor3D; grads: Map<tf.Variable, tf.Tensor> }; dispose: () => void } | null {
  const f = prepare(layer, x, mask);
  if (!f) return null;
  const { B, T, H, alloc, weights, allocSaved, forward, backward } = f;
  const saved = allocSaved();
  let freed = false;
  const dispose = () => {
    if (freed) return;
    freed = true;
    for (const t of saved) t.dispose();
  };
  const y = alloc([B, T, H]) as tf.Tensor3D;
  try {
    forward(weights([rope.cos, rope.sin, mask]), x, saved, y);
  } catch (e) {
    y.dispose();
    dispose();
    throw e;
  }
  const vjp = (dy: tf.Tensor3D) => {
    if (freed) throw new InternalError('fusedLayerForwardSaved: vjp after dispose');
    try {
      const { dx, byVariable } = backward(weights([rope.cos, rope.sin, mask]), x, dy, saved);
      return { dx, grads: byVariable };
    } finally {
      dispose();
    }
  };
  return { y, vjp, dispose };
}

/**
 * One step of checkpointed backpropagation through the layer by the native op, without TF.js's tape: the forward is
 * run again without its output (the down projection's base product and the residual are skipped: the backward does
 * not read y), then the backward turns dy into dx and the gradients of the layer's trainable tensors (new tensors,
 * the caller's to free). Null where the op does not apply (then the caller differentiates the reference ops).
 */
export function fusedLayerVjp(layer: GemmaDecoderLayer, x: tf.Tensor3D, dy: tf.Tensor3D, rope: { cos: tf.Tensor2D; sin: tf.Tensor2D }, mask: tf.Tensor4D): { dx: tf.Tensor3D; grads: Map<tf.Variable, tf.Tensor> } | null {
  const f = prepare(layer, x, mask);
  if (!f) return null;
  const { weights, allocSaved, forward, backward } = f;
  const saved = allocSaved();
  try {
    const w = weights([rope.cos, rope.sin, mask]);
    forward(w, x, saved);
    const { dx, byVariable } = backward(w, x, dy, saved);
    return { dx, grads: byVariable };
  } finally {
    for (const t of saved) t.dispose();
  }
}
