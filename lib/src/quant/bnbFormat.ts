/**
 * bitsandbytes' serialized 4-bit state (`Linear4bit._save_to_state_dict`, `QuantState.as_dict(packed=True)`,
 * bnb >= 0.42). For a parameter P (e.g. `model.layers.0.self_attn.q_proj.weight`):
 *
 *   P                                   U8  [ceil(n/2), 1]   packed codes
 *   P.absmax                            F32 [blocks]  (U8 [blocks] when double-quantized)
 *   P.quant_map                         F32 [16]
 *   P.nested_absmax                     F32 [ceil(blocks/256)]             (double quantization only)
 *   P.nested_quant_map                  F32 [256]                          (double quantization only)
 *   P.quant_state.bitsandbytes__nf4     U8  [len]  UTF-8 of json.dumps({quant_type, blocksize, dtype, shape,
 *                                                   nested_blocksize, nested_dtype, nested_offset})
 */
import { LoraLabError, type ErrorContext, shapeText } from '../util/errors.js';
import type { QuantType } from './codebooks.js';
import { FLOAT_DTYPES, isFloatDType, numel } from '../numerics/dtype.js';
import type { QuantState4bit } from './quantize4bit.js';
import { PyFloat, pyJsonDumps, typedView, type RawTensor, type TensorSpec } from '../io/index.js';
import { fromFloat32, toFloat32 } from '../io/floats.js';

/** Keys `QuantState.from_dict` accepts (`valid_qs_keys`). */
export const VALID_QS_KEYS = [
  'absmax', 'quant_map', 'nested_absmax', 'nested_quant_map', 'quant_state', 'quant_type', 'blocksize', 'dtype',
  'shape', 'nested_blocksize', 'nested_dtype', 'nested_offset',
] as const;

const QUANT_STATE_RE = /\.quant_state\.bitsandbytes__(nf4|fp4)$/;

export class BnbFormatError extends LoraLabError {
  override name = 'BnbFormatError';
}

/** 'NaN', 'Inf' or '-Inf': the word a message should use for a non-finite value. */
export function nonFiniteName(v: number): string {
  return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Inf' : '-Inf';
}

/**
 * Refuse a constant table with a NaN or ±Inf (a quant_map, an absmax, a nested absmax): dequantizing with it would
 * write non-finite weights. `where` names the file and tensor.
 */
function requireFinite(values: Float32Array, where: ErrorContext, what: string): Float32Array {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new BnbFormatError(`${what} has ${nonFiniteName(values[i])} at index ${i}; a 4-bit state needs finite constants (the file is corrupt)`, where);
    }
  }
  return values;
}

/** The quant-state JSON text, byte for byte as bitsandbytes writes it. */
export function quantStateJson(state: QuantState4bit): string {
  const d: Record<string, string | number | number[] | PyFloat> = {
    quant_type: state.quantType,
    blocksize: state.blocksize,
    dtype: state.dtype,
    shape: state.shape,
  };
  if (state.doubleQuant) {
    d.nested_blocksize = state.doubleQuant.nestedBlocksize;
    d.nested_dtype = 'float32';
    d.nested_offset = new PyFloat(state.doubleQuant.offset); // offset.item(): a Python float
  }
  return pyJsonDumps(d);
}

/** The key of a parameter's quant-state JSON: `<param>.quant_state.bitsandbytes__<quant_type>`. */
export function quantStateKey(param: string, quantType: QuantType): string {
  return `${param}.quant_state.bitsandbytes__${quantType}`;
}

/** Sizes that fix the keys of one 4-bit parameter (element counts; bytes for the packed weight and the JSON). */
export interface QuantStateSizes {
  quantType: QuantType;
  packedBytes: number;
  /** Blocks: float32 absmax, or uint8 codes of the absmax with double quantization. */
  blocks: number;
  codeLength: number;
  /** Double quantization: the nested absmax blocks and the nested codebook's length; null without it. */
  nested: { blocks: number; codeLength: number } | null;
  jsonBytes: number;
}

/**
 * bitsandbytes' state dict of one 4-bit parameter (`Params4bit` + `QuantState.as_dict(packed=True)`), the one table
 * of its keys, dtypes and shapes, in the order it writes them; the writer (packQuantState) and the file planner
 * (quantizeFile) both read it.
 */
export function quantStateLayout(param: string, z: QuantStateSizes): Record<string, TensorSpec> {
  const out = Object.create(null) as Record<string, TensorSpec>; // a parameter may be named "__proto__"
  out[param] = { dtype: 'U8', shape: [z.packedBytes, 1] };
  out[`${param}.absmax`] = { dtype: z.nested ? 'U8' : 'F32', shape: [z.blocks] };
  out[`${param}.quant_map`] = { dtype: 'F32', shape: [z.codeLength] };
  if (z.nested) {
    out[`${param}.nested_absmax`] = { dtype: 'F32', shape: [z.nested.blocks] };
    out[`${param}.nested_quant_map`] = { dtype: 'F32', shape: [z.nested.codeLength] };
  }
  out[quantStateKey(param, z.quantType)] = { dtype: 'U8', shape: [z.jsonBytes] };
  return out;
}

/** State-dict entries for parameter `param` (tensor name, e.g. `...q_proj.weight`), laid out by quantStateLayout. */
export function packQuantState(param: string, state: QuantState4bit): Record<string, RawTensor> {
  const d = state.doubleQuant;
  if (!d && !state.absmax) throw new BnbFormatError(`${param}: quant state has no absmax`);
  const json = new TextEncoder().encode(quantStateJson(state));
  const f32 = (v: Float32Array) => fromFloat32(v, 'F32');
  const data: Uint8Array[] = [state.packed, d ? d.qabsmax : f32(state.absmax!), f32(state.code)];
  if (d) data.push(f32(d.nestedAbsmax), f32(new Float32Array(d.nestedCode)));
  data.push(json);
  const layout = quantStateLayout(param, {
    quantType: state.quantType,
    packedBytes: state.packed.length,
    blocks: d ? d.qabsmax.length : state.absmax!.length,
    codeLength: state.code.length,
    nested: d ? { blocks: d.nestedAbsmax.length, codeLength: d.nestedCode.length } : null,
    jsonBytes: json.length,
  });
  const out = Object.create(null) as Record<string, RawTensor>;
  Object.entries(layout).forEach(([key, spec], i) => (out[key] = { ...spec, data: data[i] }));
  return out;
}

/** Names of the 4-bit parameters in a set of tensor names (those with a quant_state key). */
export function findQuantizedParams(names: Iterable<string>): { param: string; stateKey: string; quantType: QuantType }[] {
  const out: { param: string; stateKey: string; quantType: QuantType }[] = [];
  for (const n of names) {
    const m = QUANT_STATE_RE.exec(n);
    if (m) out.push({ param: n.slice(0, m.index), stateKey: n, quantType: m[1] as QuantType });
  }
  return out;
}

/** All keys that belong to the 4-bit parameter `param`. */
export function quantStateKeys(param: string, names: Iterable<string>): string[] {
  const set = new Set(names);
  const keys = Object.keys(quantStateLayout(param, { quantType: 'nf4', packedBytes: 0, blocks: 0, codeLength: 0, nested: { blocks: 0, codeLength: 0 }, jsonBytes: 0 }))
    .filter((k) => set.has(k) && !k.includes('.quant_state.'));
  for (const n of set) if (n.startsWith(`${param}.quant_state.`)) keys.push(n);
  return keys;
}

type TensorGetter = (key: string) => RawTensor | undefined;

/** The parsed `quant_state.bitsandbytes__<type>` JSON of `param`, and its key; only bitsandbytes' fields are accepted. */
function readQuantStateJson(param: string, get: TensorGetter, file: string): { stateKey: string; qs: Record<string, unknown> } {
  const stateKeys = (['nf4', 'fp4'] as const).map((q) => quantStateKey(param, q)).filter((k) => get(k));
  if (stateKeys.length !== 1) {
    throw new BnbFormatError(`expected exactly one '${param}.quant_state.bitsandbytes__nf4|fp4' tensor, found ${stateKeys.length}`, { file });
  }
  const stateKey = stateKeys[0];
  const where: ErrorContext = { file, field: stateKey };
  const raw = get(stateKey)!;
  if (raw.dtype !== 'U8') throw new BnbFormatError(`expected U8 bytes of JSON, got ${raw.dtype}`, where);
  let qs: Record<string, unknown>;
  try {
    qs = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw.data)) as Record<string, unknown>;
  } catch (e) {
    throw new BnbFormatError(`not valid UTF-8 JSON (${(e as Error).message})`, where);
  }
  if (qs === null || typeof qs !== 'object' || Array.isArray(qs)) throw new BnbFormatError('expected a JSON object', where);
  for (const k of Object.keys(qs)) {
    if (!(VALID_QS_KEYS as readonly string[]).includes(k)) {
      throw new BnbFormatError(`unexpected field '${k}' (bitsandbytes accepts ${VALID_QS_KEYS.join(', ')})`, where);
    }
  }
  return { stateKey, qs };
}

const isPositiveInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

/**
 * Rebuild a QuantState4bit from state-dict tensors (`QuantState.from_dict`). `get` returns a tensor or undefined;
 * `file` names the source in errors.
 */
export function unpackQuantState(param: string, get: TensorGetter, file = '<state dict>'): QuantState4bit {
  const where = (key: string): ErrorContext => ({ file, field: key });
  const { stateKey, qs } = readQuantStateJson(param, get, file);
  const field = <T>(name: string, ok: (v: unknown) => v is T, expected: string): T => {
    const v = qs[name];
    if (!ok(v)) throw new BnbFormatError(`field '${name}' must be ${expected}, got ${JSON.stringify(v)}`, where(stateKey));
    return v;
  };
  const quantType = field('quant_type', (v): v is QuantType => v === 'nf4' || v === 'fp4', "'nf4' or 'fp4'");
  if (!stateKey.endsWith(quantType)) throw new BnbFormatError(`quant_type '${quantType}' does not match the key's suffix`, where(stateKey));
  const blocksize = field('blocksize', isPositiveInt, 'a positive integer');
  const dtype = field('dtype', isFloatDType, FLOAT_DTYPES.join(' | '));
  const shape = field('shape', (v): v is number[] => Array.isArray(v) && v.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0), 'a list of non-negative integers');
  const n = numel(shape);
  const need = (key: string): RawTensor => {
    const t = get(key);
    if (!t) throw new BnbFormatError(`missing tensor '${key}' for 4-bit parameter '${param}'`, { file });
    return t;
  };
  /** A float tensor of the state as float32 values, all finite. */
  const finite = (key: string, what: string) => requireFinite(toFloat32(need(key), file, key), where(key), what);

  const packedT = need(param);
  // A non-uint8 quant_storage (e.g. bf16 for FSDP) holds the same bytes; reinterpret them.
  if (packedT.dtype !== 'U8' && !['BF16', 'F16', 'F32', 'I8'].includes(packedT.dtype)) throw new BnbFormatError(`packed weight has dtype ${packedT.dtype}`, where(param));
  const packed = packedT.data;
  if (packed.length < Math.ceil(n / 2)) {
    throw new BnbFormatError(`packed weight has ${packed.length} bytes, shape ${shapeText(shape)} needs ${Math.ceil(n / 2)}`, where(param));
  }
  const blocks = Math.ceil(n / blocksize);
  const code = finite(`${param}.quant_map`, 'the codebook');
  if (code.length !== 16) throw new BnbFormatError(`expected 16 values, got ${code.length}`, where(`${param}.quant_map`));
  const base = { quantType, blocksize, shape, dtype, packed, code };

  const absmaxKey = `${param}.absmax`;
  const absmaxT = need(absmaxKey);
  if (qs.nested_offset === undefined && get(`${param}.nested_absmax`) === undefined) {
    const absmax = finite(absmaxKey, 'absmax');
    if (absmax.length !== blocks) throw new BnbFormatError(`expected ${blocks} blocks for ${n} elements at blocksize ${blocksize}, got ${absmax.length}`, where(absmaxKey));
    return { ...base, absmax, doubleQuant: null };
  }
  // double quantization: the absmax are 8-bit codes, with their own absmax and codebook
  if (absmaxT.dtype !== 'U8') throw new BnbFormatError(`double-quantized absmax must be U8 codes, got ${absmaxT.dtype}`, where(absmaxKey));
  const qabsmax = typedView(absmaxT) as Uint8Array;
  if (qabsmax.length !== blocks) throw new BnbFormatError(`expected ${blocks} codes, got ${qabsmax.length}`, where(absmaxKey));
  const nestedBlocksize = field('nested_blocksize', isPositiveInt, 'a positive integer');
  field('nested_dtype', (v): v is string => v === 'float32', "'float32'");
  // the offset is used as a float32: 1e308 is finite in the JSON but Inf once rounded
  const offset = field('nested_offset', (v): v is number => typeof v === 'number' && Number.isFinite(Math.fround(v)), 'a number finite in float32 (|x| <= 3.4028235e38)');
  const nestedAbsmax = finite(`${param}.nested_absmax`, 'nested_absmax');
  if (nestedAbsmax.length !== Math.ceil(blocks / nestedBlocksize)) {
    throw new BnbFormatError(`expected ${Math.ceil(blocks / nestedBlocksize)} values, got ${nestedAbsmax.length}`, where(`${param}.nested_absmax`));
  }
  const nestedCode = finite(`${param}.nested_quant_map`, 'the nested codebook');
  if (nestedCode.length !== 256) throw new BnbFormatError(`expected 256 values, got ${nestedCode.length}`, where(`${param}.nested_quant_map`));
  return { ...base, absmax: null, doubleQuant: { qabsmax, nestedAbsmax, nestedCode, nestedBlocksize, offset: Math.fround(offset) } };
}
