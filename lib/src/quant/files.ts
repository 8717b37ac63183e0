/**
 * Whole-file conversions between a plain checkpoint and bitsandbytes' 4-bit format, streaming tensor by tensor:
 * memory holds one source tensor and its quantized form, never the whole file.
 */
import { SafetensorsReader, SafetensorsWriter, fromFloat32, isFloatingDtype, toFloat32, type RawTensor, type TensorSpec } from '../io/index.js';
import { STORAGE_OF, castValues, fromBf16, fromF16, numel, type FloatDType } from '../numerics/index.js';
import { BnbFormatError, nonFiniteName, packQuantState, findQuantizedParams, quantStateJson, quantStateKeys, quantStateLayout, unpackQuantState } from './bnbFormat.js';
import { blockAbsmax } from './blockwise4.js';
import { bnb4bitOptions, type Bnb4bitOptions } from './defaults.js';
import { bitsPerParameter, dequantize4bit, quantize4bit, type BitsPerParameter, type QuantState4bit } from './quantize4bit.js';
import { NESTED_BLOCKSIZE, meanF32 } from './doubleQuant.js';
import { QuantizationError } from './errors.js';

export interface Progress {
  /** Bytes of source tensor data processed so far, and in all. */
  done: number;
  total: number;
  tensor: string;
}

/** 4-bit options (defaults BNB_4BIT_DEFAULTS; computeDtype: what weights are cast to and the state records). */
export interface QuantizeFileOptions extends Partial<Bnb4bitOptions> {
  /** Tensor names matching any of these are copied unchanged (e.g. /embed_tokens/). */
  skip?: RegExp[];
  onProgress?: (p: Progress) => void;
}

export interface QuantizeFileReport {
  quantized: { name: string; shape: number[]; bits: BitsPerParameter }[];
  copied: string[];
  inputBytes: number;
  outputBytes: number;
}

/** Will `quantize` turn this tensor into 4 bits? Floating, 2 or more dimensions, not skipped. */
export function isQuantizable(name: string, t: { dtype: RawTensor['dtype']; shape: number[] }, skip: RegExp[] = []): boolean {
  return isFloatingDtype(t.dtype) && t.shape.length >= 2 && numel(t.shape) > 0 && !skip.some((r) => r.test(name));
}


/** A tensor's values rounded to the compute dtype, as bitsandbytes sees them after `tensor.to(dtype)`. */
function computeValues(reader: SafetensorsReader, file: string, name: string, o: Bnb4bitOptions): Float32Array {
  return castValues(toFloat32(reader.read(name), file, name), o.computeDtype);
}

/**
 * Pass 1 of quantizeFile: every output tensor's dtype and shape. They follow from the shape and the options, except
 * the quant_state JSON, whose length depends on nested_offset = mean(absmax) (its digits): with double quantization
 * each target's absmax is computed here, and only that.
 */
function planOutput(reader: SafetensorsReader, file: string, targets: Set<string>, o: Bnb4bitOptions): Record<string, TensorSpec> {
  const specs = Object.create(null) as Record<string, TensorSpec>; // names come from the file ("__proto__" too)
  for (const t of reader.tensors) {
    if (!targets.has(t.name)) {
      specs[t.name] = { dtype: t.dtype, shape: t.shape };
      continue;
    }
    const n = numel(t.shape);
    const blocks = Math.ceil(n / o.blocksize);
    let doubleQuant: QuantState4bit['doubleQuant'] = null;
    if (o.doubleQuant) {
      const offset = meanF32(blockAbsmax(computeValues(reader, file, t.name, o), o.blocksize));
      doubleQuant = { offset, nestedBlocksize: NESTED_BLOCKSIZE, qabsmax: new Uint8Array(0), nestedAbsmax: new Float32Array(0), nestedCode: new Float32Array(0) };
    }
    const json = quantStateJson({ quantType: o.quantType, blocksize: o.blocksize, shape: t.shape, dtype: o.computeDtype, packed: new Uint8Array(0), absmax: null, code: new Float32Array(0), doubleQuant });
    Object.assign(specs, quantStateLayout(t.name, {
      quantType: o.quantType,
      packedBytes: Math.ceil(n / 2),
      blocks,
      codeLength: 16,
      nested: o.doubleQuant ? { blocks: Math.ceil(blocks / NESTED_BLOCKSIZE), codeLength: 256 } : null,
      jsonBytes: Buffer.byteLength(json, 'utf8'),
    }));
  }
  return specs;
}

/** Pass 2 of quantizeFile: each target quantized and written as bitsandbytes' keys, every other tensor copied. */
function writeOutput(reader: SafetensorsReader, file: string, writer: SafetensorsWriter, targets: Set<string>, o: Bnb4bitOptions, onProgress?: (p: Progress) => void): Pick<QuantizeFileReport, 'quantized' | 'copied'> {
  const report: Pick<QuantizeFileReport, 'quantized' | 'copied'> = { quantized: [], copied: [] };
  const total = inputDataBytes(reader);
  let done = 0;
  for (const t of reader.tensors) {
    if (targets.has(t.name)) {
      const values = computeValues(reader, file, t.name, o);
      const { state } = quantize4bit(values, { quantType: o.quantType, blocksize: o.blocksize, doubleQuant: o.doubleQuant, shape: t.shape, dtype: o.computeDtype });
      for (const [k, v] of Object.entries(packQuantState(t.name, state))) writer.write(k, v.data);
      report.quantized.push({ name: t.name, shape: t.shape, bits: bitsPerParameter(state) });
    } else {
      writer.write(t.name, reader.readBytes(t.name));
      report.copied.push(t.name);
    }
    done += t.dataOffsets[1] - t.dataOffsets[0];
    onProgress?.({ done, total, tensor: t.name });
  }
  return report;
}

const inputDataBytes = (reader: SafetensorsReader) => reader.tensors.reduce((s, t) => s + t.dataOffsets[1] - t.dataOffsets[0], 0);

/**
 * Quantize every floating tensor with 2+ dimensions of `input` into bitsandbytes' keys and copy the rest unchanged.
 * Two passes over the input: the first quantizes to learn each state's exact sizes (the JSON's length depends on the
 * offset's digits) keeping only the small constants, the second writes. Peak memory is about one tensor.
 */
export function quantizeFile(input: string, output: string, opts: QuantizeFileOptions = {}): QuantizeFileReport {
  const o = bnb4bitOptions(opts);
  const reader = SafetensorsReader.open(input);
  try {
    const already = findQuantizedParams(reader.names());
    if (already.length) {
      throw new QuantizationError(`already holds 4-bit parameters (${already[0].stateKey}${already.length > 1 ? `, +${already.length - 1} more` : ''})`, { file: input, expected: 'a file of dense weights: dequantize it first' });
    }
    const targets = new Set(reader.tensors.filter((t) => isQuantizable(t.name, t, opts.skip ?? [])).map((t) => t.name));
    const writer = new SafetensorsWriter(output, planOutput(reader, input, targets, o), reader.metadata ?? { format: 'pt' });
    let written: Pick<QuantizeFileReport, 'quantized' | 'copied'>;
    try {
      written = writeOutput(reader, input, writer, targets, o, opts.onProgress);
      writer.close();
    } catch (e) {
      writer.abort();
      throw e;
    }
    return { ...written, inputBytes: reader.header.dataStart + inputDataBytes(reader), outputBytes: writer.size };
  } finally {
    reader.close();
  }
}

export interface DequantizeFileOptions {
  /** Output dtype; default: each tensor's recorded quant_state dtype. */
  dtype?: FloatDType;
  onProgress?: (p: Progress) => void;
}

/** Inverse of quantizeFile: every 4-bit parameter back to a dense tensor; other tensors copied unchanged. */
export function dequantizeFile(input: string, output: string, opts: DequantizeFileOptions = {}): { dequantized: string[]; copied: string[] } {
  const reader = SafetensorsReader.open(input);
  try {
    const names = reader.names();
    const params = findQuantizedParams(names);
    const owned = new Set<string>();
    const states = new Map<string, { dtype: FloatDType; shape: number[] }>();
    const get = (k: string) => (reader.has(k) ? reader.read(k) : undefined);
    for (const p of params) {
      for (const k of quantStateKeys(p.param, names)) owned.add(k);
      // Read only the small constants now; validates every 4-bit parameter before anything is written.
      const st = unpackQuantState(p.param, get, input);
      states.set(p.param, { dtype: opts.dtype ?? st.dtype, shape: st.shape });
    }
    const specs = Object.create(null) as Record<string, TensorSpec>;
    for (const t of reader.tensors) if (!owned.has(t.name)) specs[t.name] = { dtype: t.dtype, shape: t.shape };
    for (const [param, s] of states) specs[param] = { dtype: STORAGE_OF[s.dtype], shape: s.shape };
    const writer = new SafetensorsWriter(output, specs, reader.metadata);
    const total = reader.tensors.reduce((s, t) => s + t.dataOffsets[1] - t.dataOffsets[0], 0);
    let done = 0;
    try {
      for (const [param, s] of states) {
        const st = unpackQuantState(param, get, input);
        writer.write(param, checkedCast(dequantize4bit(st, { dtype: 'float32' }), s.dtype, `${input}: ${param}`));
        for (const k of quantStateKeys(param, names)) done += reader.info(k).dataOffsets[1] - reader.info(k).dataOffsets[0];
        opts.onProgress?.({ done, total, tensor: param });
      }
      const copied: string[] = [];
      for (const t of reader.tensors) {
        if (owned.has(t.name)) continue;
        writer.write(t.name, reader.readBytes(t.name));
        copied.push(t.name);
        done += t.dataOffsets[1] - t.dataOffsets[0];
        opts.onProgress?.({ done, total, tensor: t.name });
      }
      writer.close();
      return { dequantized: [...states.keys()], copied };
    } catch (e) {
      writer.abort();
      throw e;
    }
  } finally {
    reader.close();
  }
}

/**
 * Encode dequantized values, refusing any that are not finite once in the output dtype: finite constants can still
 * overflow (a recovered absmax of offset + code · nested absmax past 3.4e38, or a value past float16's 65504).
 */
function checkedCast(values: Float32Array, dtype: FloatDType, where: string): Uint8Array {
  const storage = STORAGE_OF[dtype];
  const bytes = fromFloat32(values, storage);
  const back = storage === 'F32' ? values : storage === 'BF16' ? fromBf16(new Uint16Array(bytes.buffer)) : fromF16(new Uint16Array(bytes.buffer));
  for (let i = 0; i < back.length; i++) {
    if (!Number.isFinite(back[i])) {
      const was = Number.isFinite(values[i]) ? ` (${values[i]} in float32, out of ${dtype}'s range)` : '';
      throw new BnbFormatError(`${where}: dequantizing gives ${nonFiniteName(back[i])} at element ${i}${was}; nothing was written`);
    }
  }
  return bytes;
}

export interface InspectedTensor {
  name: string;
  dtype: string;
  shape: number[];
  bytes: number;
}

export interface Inspected4bit {
  param: string;
  state: Omit<QuantState4bit, 'packed'> & { packedBytes: number };
  bits: BitsPerParameter;
  /** Bytes of all keys of this parameter in the file. */
  bytes: number;
}

export interface InspectReport {
  file: string;
  fileBytes: number;
  metadata: Record<string, string> | null;
  tensors: InspectedTensor[];
  quantized: Inspected4bit[];
}

/** Tensors, dtypes, shapes and sizes; for 4-bit parameters their quant state and bits per parameter. */
export function inspectFile(path: string): InspectReport {
  const reader = SafetensorsReader.open(path);
  try {
    const names = reader.names();
    const get = (k: string) => (reader.has(k) ? reader.read(k) : undefined);
    const quantized: Inspected4bit[] = [];
    for (const p of findQuantizedParams(names)) {
      // Reading the packed weight just for its length would be wasteful: read the small keys, stub the packed one.
      const packedBytes = reader.info(p.param).dataOffsets[1] - reader.info(p.param).dataOffsets[0];
      const st = unpackQuantState(p.param, (k) => (k === p.param ? { ...reader.info(k), data: new Uint8Array(packedBytes) } : get(k)), path);
      const { packed, ...rest } = st;
      void packed;
      const bytes = quantStateKeys(p.param, names).reduce((s, k) => s + reader.info(k).dataOffsets[1] - reader.info(k).dataOffsets[0], 0);
      quantized.push({ param: p.param, state: { ...rest, packedBytes }, bits: bitsPerParameter(st), bytes });
    }
    const last = reader.tensors.at(-1);
    return {
      file: path,
      fileBytes: reader.header.dataStart + (last ? last.dataOffsets[1] : 0),
      metadata: reader.metadata,
      tensors: reader.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, bytes: t.dataOffsets[1] - t.dataOffsets[0] })),
      quantized,
    };
  } finally {
    reader.close();
  }
}

