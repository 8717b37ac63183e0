/**
 * The safetensors header's JSON, read as the reference reader's serde types read it (`safetensors/src/tensor.rs`:
 * `struct HashMetadata { #[serde(rename = "__metadata__")] metadata: Option<HashMap<String, String>>,
 * #[serde(flatten)] tensors: HashMap<String, TensorInfo> }`, `struct TensorInfo { dtype, shape: Vec<usize>,
 * data_offsets: (usize, usize) }`), checked case by case against serde_json 1.0:
 *
 * - `__metadata__` twice: refused (serde's derived struct visitor: "duplicate field `__metadata__`");
 *   `"__metadata__": null` is accepted (an `Option`); its values must be strings; a key given twice keeps the last
 *   value (serde's `HashMap` visitor inserts, so the later entry replaces the earlier).
 * - a tensor name given twice: the last entry wins (the flattened `HashMap` again), and validation then sees one tensor.
 * - inside a tensor entry: a field twice is refused ("duplicate field `dtype`"); unknown fields are skipped (no
 *   `deny_unknown_fields`) but must still be valid JSON; the entry may also be the sequence form
 *   `[dtype, shape, data_offsets]` (a derived struct also visits a sequence, of exactly 3 elements); `dtype` may also be
 *   the enum's map form `{"F32": null}` (one key, a null value).
 * - `shape` and `data_offsets` hold `usize`: `4.0`, `4e0` and `-0` are floats and refused, as are negative integers and
 *   integers beyond 2^64 − 1; `data_offsets` has exactly 2 elements.
 * - strings: lone surrogate escapes are refused anywhere (serde_json decodes every string it buffers).
 *
 * Limits the reference does not have keep memory proportional to the file (a 100 MB header can otherwise hold 6.7 M
 * metadata keys or a 33-million-dimension shape, and building them took gigabytes): each is checked before the item is
 * stored, and each is far beyond what real checkpoints hold.
 */
import { LoraLabError } from '../util/errors.js';
import { DTYPES, isDtype, type Dtype } from './dtypes.js';
import { JsonReader, JsonSyntaxError, SERDE_JSON_MAX_DEPTH, type JsonKind } from './boundedJson.js';

export interface HeaderLimits {
  /**
   * Tensors in one file. The largest open mixture-of-experts checkpoints hold under 100,000 tensors in all their
   * shards together (DeepSeek-V3: 61 layers × 256 experts × 3 projections, each with a scale); one file with a
   * million is ten times that. Every tensor costs at least ~50 header bytes, so the 100 MB header allows ~2 million.
   */
  maxTensors: number;
  /** `__metadata__` entries. Real files carry a handful (format, training settings); one per tensor still fits. */
  maxMetadataKeys: number;
  /** Dimensions of one shape: NumPy 2's NPY_MAXDIMS (64); no framework makes tensors of more. */
  maxDims: number;
  /** Nesting of JSON containers, serde_json's recursion budget (127 nested containers parse, 128 do not). */
  maxDepth: number;
}

export const HEADER_LIMITS: Readonly<HeaderLimits> = Object.freeze({
  maxTensors: 1_000_000,
  maxMetadataKeys: 1_000_000,
  maxDims: 64,
  maxDepth: SERDE_JSON_MAX_DEPTH,
});

/** One tensor entry as written; `exactShape` keeps dimensions beyond 2^53 − 1, which a JS number cannot hold. */
export interface ParsedTensor {
  name: string;
  dtype: Dtype;
  shape: number[];
  exactShape?: bigint[];
  dataOffsets: [number, number];
}

export interface ParsedHeader {
  /** A null-prototype map: a key "__proto__" is a key like any other. */
  metadata: Record<string, string> | null;
  tensors: ParsedTensor[];
}

/** Why a header was refused; `limit` marks a LoRA Lab bound rather than a rule of the format. */
export class HeaderSchemaError extends LoraLabError {
  override name = 'HeaderSchemaError';
  constructor(message: string, readonly tensor?: string, readonly limit = false) {
    super(message);
  }
}

function preview(kind: JsonKind, r: JsonReader): string {
  if (kind === 'string') {
    const s = r.readString();
    return JSON.stringify(s.length > 40 ? `${s.slice(0, 37)}...` : s);
  }
  if (kind === 'number') return r.readNumber().text.slice(0, 40);
  if (kind === 'object' || kind === 'array') return `a JSON ${kind}`;
  return String(r.readLiteral());
}

/** The shortest tensor entry, `"":["F4",[],[0,0]],`, is 18 characters: a header shorter than limit × 16 cannot pass it. */
const MIN_ENTRY_CHARS = 16;

/**
 * Keys of the top-level object, counted in one pass over the characters without parsing or storing anything: the
 * colons at depth 1 outside strings. Exact for valid JSON; for invalid JSON only an estimate (the parse reports it).
 */
function countEntries(text: string): number {
  let depth = 0;
  let n = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) depth--;
    else if (c === 0x3a && depth === 1) n++;
  }
  return n;
}

/** Read and validate the header JSON (syntax and types); offsets and sizes are checked afterwards by the caller. */
export function parseHeaderJson(text: string, limits: HeaderLimits = HEADER_LIMITS): ParsedHeader {
  // Big enough to hold too many tensors: count first (entries as written, plus one for __metadata__), so that an
  // oversized header is refused before any tensor is built.
  if (text.length > limits.maxTensors * MIN_ENTRY_CHARS) {
    if (countEntries(text) > limits.maxTensors + 1) throw tooManyTensors(limits);
  }
  const r = new JsonReader(text, limits.maxDepth);
  try {
    const k = r.peek();
    if (k !== 'object') throw new HeaderSchemaError(`header must be a JSON object, got ${preview(k, r)}`);
    r.beginObject();
    let metadata: Record<string, string> | null = null;
    let sawMetadata = false;
    const byName = new Map<string, ParsedTensor>();
    for (let key = r.nextKey(); key !== null; key = r.nextKey()) {
      if (key === '__metadata__') {
        if (sawMetadata) throw new HeaderSchemaError('duplicate field `__metadata__` (the reference reader refuses it)');
        sawMetadata = true;
        metadata = readMetadata(r, limits);
        continue;
      }
      if (byName.size >= limits.maxTensors && !byName.has(key)) throw tooManyTensors(limits);
      byName.set(key, readTensorInfo(r, key, limits)); // a repeated name replaces the earlier entry, as serde's HashMap does
    }
    r.end();
    return { metadata, tensors: [...byName.values()] };
  } catch (e) {
    if (e instanceof JsonSyntaxError) throw new HeaderSchemaError(`header is not valid JSON (${e.message})`);
    throw e;
  }
}

function tooManyTensors(limits: HeaderLimits): HeaderSchemaError {
  return new HeaderSchemaError(`more than ${limits.maxTensors.toLocaleString('en-US')} tensors: over LoRA Lab's limit (real checkpoints hold far fewer per file)`, undefined, true);
}

function readMetadata(r: JsonReader, limits: HeaderLimits): Record<string, string> | null {
  const k = r.peek();
  if (k === 'null') {
    r.readLiteral();
    return null;
  }
  if (k !== 'object') throw new HeaderSchemaError(`__metadata__ must be an object of strings (or null), got ${preview(k, r)}`);
  r.beginObject();
  const out = Object.create(null) as Record<string, string>;
  let n = 0;
  for (let key = r.nextKey(); key !== null; key = r.nextKey()) {
    const vk = r.peek();
    if (vk !== 'string') throw new HeaderSchemaError(`__metadata__.${key} must be a string (safetensors allows only string values), got ${preview(vk, r)}`);
    if (!(key in out)) {
      if (n >= limits.maxMetadataKeys) {
        throw new HeaderSchemaError(`__metadata__ has more than ${limits.maxMetadataKeys.toLocaleString('en-US')} keys: over LoRA Lab's limit`, undefined, true);
      }
      n++;
    }
    out[key] = r.readString();
  }
  return out;
}

type Field = 'dtype' | 'shape' | 'data_offsets';
type Bad = (what: string, limit?: boolean) => HeaderSchemaError;
const FIELDS: readonly Field[] = ['dtype', 'shape', 'data_offsets'];

/** Builds the errors of one tensor entry (created once per entry; no closures per field). */
class EntryErrors {
  constructor(readonly name: string) {}
  readonly bad: Bad = (what, limit = false) => new HeaderSchemaError(`tensor '${this.name}': ${what}`, this.name, limit);
}

function readTensorInfo(r: JsonReader, name: string, limits: HeaderLimits): ParsedTensor {
  const { bad } = new EntryErrors(name);
  const k = r.peek();
  let dtype: Dtype | undefined;
  let shape: { shape: number[]; exact: bigint[] | null } | undefined;
  let offsets: [number, number] | undefined;
  const read = (f: Field): void => {
    if (f === 'dtype') dtype = readDtype(r, bad);
    else if (f === 'shape') shape = readShape(r, bad, limits);
    else offsets = readOffsets(r, bad);
  };
  if (k === 'object') {
    r.beginObject();
    for (let key = r.nextKey(); key !== null; key = r.nextKey()) {
      if (key === 'dtype' || key === 'shape' || key === 'data_offsets') {
        if ((key === 'dtype' ? dtype : key === 'shape' ? shape : offsets) !== undefined) throw bad(`duplicate field \`${key}\` (the reference reader refuses it)`);
        read(key);
      } else {
        r.skipValue(); // serde ignores unknown fields
      }
    }
  } else if (k === 'array') {
    // the sequence form [dtype, shape, data_offsets]
    r.beginArray();
    let i = 0;
    while (r.nextItem()) {
      if (i === 3) throw bad('its entry as a list must have exactly 3 elements [dtype, shape, data_offsets]');
      read(FIELDS[i++]);
    }
    if (i < 3) throw bad(`its entry as a list must have exactly 3 elements [dtype, shape, data_offsets], got ${i}`);
  } else {
    throw bad(`its entry must be an object {dtype, shape, data_offsets}, got ${preview(k, r)}`);
  }
  if (dtype === undefined) throw bad(`dtype must be one of ${DTYPES.join(', ')}, got nothing (missing field)`);
  if (shape === undefined) throw bad('shape must be an array of non-negative integers, got nothing (missing field)');
  if (offsets === undefined) throw bad('data_offsets must be two non-negative integers [begin, end], got nothing (missing field)');
  const t: ParsedTensor = { name, dtype, shape: shape.shape, dataOffsets: offsets };
  if (shape.exact) t.exactShape = shape.exact;
  return t;
}

const DTYPE_CHOICES = `one of ${DTYPES.join(', ')}`;

function readDtype(r: JsonReader, bad: Bad): Dtype {
  const expected = DTYPE_CHOICES;
  const k = r.peek();
  if (k === 'string') {
    const s = r.readString();
    if (!isDtype(s)) throw bad(`dtype must be ${expected}, got ${JSON.stringify(s)}`);
    return s;
  }
  if (k === 'object') {
    // serde's map form of a unit variant: {"F32": null}
    r.beginObject();
    const key = r.nextKey();
    if (key === null || !isDtype(key) || r.peek() !== 'null') throw bad(`dtype must be ${expected}, got an object`);
    r.readLiteral();
    if (r.nextKey() !== null) throw bad(`dtype must be ${expected}, got an object with more than one key`);
    return key;
  }
  throw bad(`dtype must be ${expected}, got ${preview(k, r)}`);
}

/** A usize as serde reads one: an unsigned integer literal up to 2^64 − 1. */
function readUsize(r: JsonReader, bad: Bad, field: string, expected: string): { value: number; exact: bigint | null } {
  const k = r.peek();
  if (k !== 'number') throw bad(`${field} must be ${expected}, got ${preview(k, r)}`);
  const n = r.readNumber();
  if (n.kind === 'float') throw bad(`${field} must be ${expected}, got ${n.text} (written as a float${/^\d+$/.test(n.text) ? ', beyond 2^64 - 1' : ''}; the reference reader refuses it)`);
  if (n.kind === 'int') throw bad(`${field} must be ${expected}, got ${n.text}`);
  const value = Number(n.text);
  return { value, exact: Number.isSafeInteger(value) ? null : BigInt(n.text) };
}

function readShape(r: JsonReader, bad: Bad, limits: HeaderLimits): { shape: number[]; exact: bigint[] | null } {
  const expected = 'an array of non-negative integers';
  const k = r.peek();
  if (k !== 'array') throw bad(`shape must be ${expected}, got ${preview(k, r)}`);
  r.beginArray();
  const shape: number[] = [];
  let exact: bigint[] | null = null;
  while (r.nextItem()) {
    if (shape.length >= limits.maxDims) throw bad(`shape has more than ${limits.maxDims} dimensions: over LoRA Lab's limit (NumPy's maximum)`, true);
    const d = readUsize(r, bad, 'shape', expected);
    if (d.exact !== null && exact === null) exact = shape.map(BigInt);
    shape.push(d.value);
    exact?.push(d.exact ?? BigInt(d.value));
  }
  return { shape, exact };
}

function readOffsets(r: JsonReader, bad: Bad): [number, number] {
  const expected = 'two non-negative integers [begin, end]';
  const k = r.peek();
  if (k !== 'array') throw bad(`data_offsets must be ${expected}, got ${preview(k, r)}`);
  r.beginArray();
  const out: number[] = [];
  while (r.nextItem()) {
    if (out.length === 2) throw bad(`data_offsets must be ${expected}, got more than 2 elements`);
    // Offsets past 2^53 - 1 are kept inexact: no file is that large, so validation refuses them anyway.
    out.push(readUsize(r, bad, 'data_offsets', expected).value);
  }
  if (out.length !== 2) throw bad(`data_offsets must be ${expected}, got ${out.length} element${out.length === 1 ? '' : 's'}`);
  return [out[0], out[1]];
}
