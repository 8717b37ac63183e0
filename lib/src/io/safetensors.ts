/**
 * safetensors, to the letter of the reference implementation (huggingface/safetensors `tensor.rs`):
 *
 *   [u64 little-endian N][N bytes of UTF-8 JSON header, space-padded][byte buffer]
 *   header = {"__metadata__": {str: str}?, name: {"dtype", "shape", "data_offsets": [begin, end]}, ...}
 *
 * The reader validates every rule of `read_metadata` / `Metadata::validate`, in the same order, and reads tensors by
 * offset. The writer sorts tensors by dtype (descending enum order) then name, writes a compact header with
 * `__metadata__` first and pads it with spaces to a multiple of 8, like `serialize()`.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { numel } from '../numerics/dtype.js';
import { FileSource, MemorySource, type ByteSource } from './byteSource.js';
import { DTYPE_BITS, dtypeRank, type Dtype } from './dtypes.js';
import { SafetensorsError } from './errors.js';
import { HEADER_LIMITS, HeaderSchemaError, parseHeaderJson, type HeaderLimits, type ParsedHeader, type ParsedTensor } from './safetensorsHeader.js';
import { ArgumentError, shapeText } from '../util/errors.js';
import { SafetensorsWriteError } from './errors.js';

/** The reference reader refuses headers larger than this (`MAX_HEADER_SIZE`). */
export const MAX_HEADER_SIZE = 100_000_000;

export interface TensorInfo {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** [begin, end) relative to the start of the byte buffer. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  /** N, the header length in bytes (including padding). */
  headerSize: number;
  /** File offset of the byte buffer: 8 + N. */
  dataStart: number;
  metadata: Record<string, string> | null;
  /** Tensors in file order (sorted by offset). */
  tensors: TensorInfo[];
}

// ignoreBOM: keep a leading U+FEFF so that it is refused, as the reference reader refuses it
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const enc = new TextEncoder();
const U64_MAX = 2n ** 64n - 1n;

/** A byte count for a message: grouped digits, or 7.4e18 when it is too long to read. */
function bytesText(n: bigint | number): string {
  return BigInt(n) < 10n ** 12n ? Number(n).toLocaleString('en-US') : Number(n).toExponential(1).replace('e+', 'e');
}

/** Parse and validate a header from any byte source. Reads only the 8-byte prefix and the header itself. */
export function readHeader(src: ByteSource, limits: HeaderLimits = HEADER_LIMITS): SafetensorsHeader {
  const file = src.name;
  if (src.size < 8) throw SafetensorsError.notSafetensors('HeaderTooSmall', file, `it is ${src.size} bytes, shorter than the 8-byte header length`);
  const prefix = src.read(0, 8);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  // The reference checks the limit first (HeaderTooLarge), then that the header fits (InvalidHeaderLength).
  const code = n > BigInt(MAX_HEADER_SIZE) ? 'HeaderTooLarge' : 'InvalidHeaderLength';
  if (n > BigInt(src.size - 8)) {
    const why = n > BigInt(src.size)
      ? `its first 8 bytes, read as the header length, give ${bytesText(n)} bytes, more than the file's ${bytesText(src.size)} bytes`
      : `its first 8 bytes, read as the header length, give ${bytesText(n)} bytes, but only ${bytesText(src.size - 8)} bytes follow them`;
    throw SafetensorsError.notSafetensors(code, file, code === 'InvalidHeaderLength' ? `${why} (or the file was truncated)` : why);
  }
  if (code === 'HeaderTooLarge') throw new SafetensorsError(code, file, `header length ${n} exceeds the limit of ${MAX_HEADER_SIZE} bytes`);
  const headerSize = Number(n);
  const dataStart = 8 + headerSize;
  let text: string;
  try {
    text = utf8.decode(src.read(8, headerSize));
  } catch {
    throw new SafetensorsError('InvalidHeader', file, 'header is not valid UTF-8');
  }
  if (text.charCodeAt(0) === 0xfeff) {
    throw new SafetensorsError('InvalidHeaderDeserialization', file, 'header starts with a UTF-8 byte order mark (U+FEFF), which the reference reader refuses');
  }
  let parsed: ParsedHeader;
  try {
    parsed = parseHeaderJson(text, limits);
  } catch (e) {
    if (!(e instanceof HeaderSchemaError)) throw e;
    throw new SafetensorsError(e.limit ? 'LimitExceeded' : 'InvalidHeaderDeserialization', file, e.message, e.tensor);
  }
  const tensors: ParsedTensor[] = parsed.tensors;

  // Offsets: contiguous from 0, no gaps, no overlaps (sorted by data_offsets as the reference does).
  tensors.sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let start = 0;
  for (const t of tensors) {
    const [s, e] = t.dataOffsets;
    if (s !== start || e < s) {
      const why = e < s ? `end ${e} is before begin ${s}` : s > start ? `begins at ${s} but the previous tensor ends at ${start} (a gap)` : `begins at ${s}, inside the previous tensor which ends at ${start} (an overlap)`;
      throw new SafetensorsError('InvalidOffset', file, `tensor '${t.name}': data_offsets [${s}, ${e}]: ${why}`, t.name);
    }
    const bits = DTYPE_BITS[t.dtype];
    const nbytes = tensorBytes(t, bits);
    if (nbytes === 'overflow') {
      throw new SafetensorsError('ValidationOverflow', file, `tensor '${t.name}': shape [${(t.exactShape ?? t.shape).join(', ')}] of ${t.dtype} has more elements or bits than 2^64 - 1 (the product overflows, checked left to right as the reference does)`, t.name);
    }
    if (nbytes === 'misaligned') {
      throw new SafetensorsError('MisalignedSlice', file, `tensor '${t.name}': ${numel(t.shape)} elements of ${t.dtype} are not a whole number of bytes`, t.name);
    }
    if (nbytes !== e - s) {
      throw new SafetensorsError('TensorInvalidInfo', file, `tensor '${t.name}': ${t.dtype} ${shapeText(t.shape)} needs ${nbytes} bytes but data_offsets [${s}, ${e}] span ${e - s}`, t.name);
    }
    delete t.exactShape;
    start = e;
  }
  if (dataStart + start !== src.size) {
    throw new SafetensorsError(
      'MetadataIncompleteBuffer',
      file,
      `header describes ${start} bytes of tensor data, so the file should be ${dataStart + start} bytes, but it is ${src.size}` +
        (src.size < dataStart + start ? ' (truncated?)' : ' (trailing bytes are not allowed)'),
    );
  }
  return { headerSize, dataStart, metadata: parsed.metadata, tensors };
}

/**
 * Bytes of a tensor: elements = the shape's product and bits = elements · dtype bits, each refused if it passes
 * 2^64 − 1 at any step (`try_fold(1, usize::checked_mul)`, so [2^40, 2^40, 0] overflows before reaching the 0).
 * Exact in floats while below 2^53, in BigInt beyond.
 */
function tensorBytes(t: ParsedTensor, bits: number): number | 'overflow' | 'misaligned' {
  let p = 1;
  let exact = t.exactShape === undefined;
  if (exact) {
    for (const d of t.shape) {
      p *= d;
      if (p > Number.MAX_SAFE_INTEGER) {
        exact = false;
        break;
      }
    }
  }
  if (exact && p * bits <= Number.MAX_SAFE_INTEGER) {
    const nbits = p * bits;
    return nbits % 8 === 0 ? nbits / 8 : 'misaligned';
  }
  let q = 1n;
  for (const d of t.exactShape ?? t.shape.map(BigInt)) {
    q *= BigInt(d);
    if (q > U64_MAX) return 'overflow';
  }
  const nbits = q * BigInt(bits);
  if (nbits > U64_MAX) return 'overflow';
  if (nbits % 8n !== 0n) return 'misaligned';
  // past 2^53 no offsets of a real file can match; the number is only compared, and fails
  return Number(nbits / 8n);
}

/** A tensor's raw little-endian bytes with its dtype and shape. */
export interface RawTensor {
  dtype: Dtype;
  shape: number[];
  data: Uint8Array;
}

/** Reads tensors by offset from a safetensors file (or buffer); only the header is read on open. */
export class SafetensorsReader {
  readonly header: SafetensorsHeader;
  private readonly byName: Map<string, TensorInfo>;
  constructor(private readonly src: ByteSource) {
    try {
      this.header = readHeader(src);
    } catch (e) {
      src.close();
      throw e;
    }
    this.byName = new Map(this.header.tensors.map((t) => [t.name, t]));
  }
  static open(path: string): SafetensorsReader {
    let src: FileSource;
    try {
      src = new FileSource(path);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'is a directory, not a .safetensors file' : err.code === 'ENOTREG' ? err.message.slice(path.length + 2) : err.message;
      throw new SafetensorsError('IoError', path, why);
    }
    return new SafetensorsReader(src);
  }
  static fromBytes(bytes: Uint8Array, name = '<memory>'): SafetensorsReader {
    return new SafetensorsReader(new MemorySource(bytes, name));
  }
  get file(): string {
    return this.src.name;
  }
  get metadata(): Record<string, string> | null {
    return this.header.metadata;
  }
  /** Tensors in file order. */
  get tensors(): TensorInfo[] {
    return this.header.tensors;
  }
  names(): string[] {
    return this.header.tensors.map((t) => t.name);
  }
  has(name: string): boolean {
    return this.byName.has(name);
  }
  info(name: string): TensorInfo {
    const t = this.byName.get(name);
    if (!t) throw new SafetensorsError('TensorNotFound', this.src.name, `no tensor named '${name}'`, name);
    return t;
  }
  /** The tensor's bytes, read from the file at its offset. */
  readBytes(name: string): Uint8Array {
    const t = this.info(name);
    return this.src.read(this.header.dataStart + t.dataOffsets[0], t.dataOffsets[1] - t.dataOffsets[0]);
  }
  read(name: string): RawTensor {
    const t = this.info(name);
    return { dtype: t.dtype, shape: [...t.shape], data: this.readBytes(name) };
  }
  /**
   * Elements [start, end) of the flattened tensor, read from the file alone: lets a loader stream a large tensor
   * in pieces instead of holding all its bytes (for dtypes of 8 bits or more).
   */
  readElements(name: string, start: number, end: number): RawTensor {
    const t = this.info(name);
    const bits = DTYPE_BITS[t.dtype];
    const n = numel(t.shape);
    if (bits % 8 !== 0) throw new SafetensorsError('MisalignedSlice', this.src.name, `tensor '${name}' has ${bits}-bit elements: it can only be read whole`, name);
    if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= n)) {
      throw new ArgumentError(`elements [${start}, ${end}) are outside tensor '${name}' (${n} elements)`, { file: this.src.name, expected: 'integers 0 <= start <= end <= the element count' });
    }
    const b = bits / 8;
    return { dtype: t.dtype, shape: [end - start], data: this.src.read(this.header.dataStart + t.dataOffsets[0] + start * b, (end - start) * b) };
  }
  close(): void {
    this.src.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Writing

export interface TensorSpec {
  dtype: Dtype;
  shape: number[];
}

export interface Layout {
  /** 8-byte length prefix + padded header. */
  headerBytes: Uint8Array;
  /** Name -> [begin, end) within the byte buffer, in file order. */
  offsets: Map<string, [number, number]>;
  dataStart: number;
  totalSize: number;
}

function byteCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export function byteSize(spec: TensorSpec, name = '?'): number {
  for (const d of spec.shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new SafetensorsWriteError(`shape ${shapeText(spec.shape)} must hold non-negative integers`, { field: `tensor '${name}'` });
  }
  const bits = numel(spec.shape) * DTYPE_BITS[spec.dtype];
  if (bits % 8 !== 0) throw new SafetensorsWriteError(`${spec.dtype} ${shapeText(spec.shape)} is not a whole number of bytes`, { field: `tensor '${name}'` });
  return bits / 8;
}

/** Plan a file: order tensors as the reference writer does and build the padded header. */
export function planLayout(specs: Record<string, TensorSpec>, metadata?: Record<string, string> | null): Layout {
  if ('__metadata__' in specs) throw new SafetensorsWriteError('is reserved and cannot be a tensor name', { field: "'__metadata__'" });
  const names = Object.keys(specs).sort((a, b) => dtypeRank(specs[b].dtype) - dtypeRank(specs[a].dtype) || byteCompare(a, b));
  const offsets = new Map<string, [number, number]>();
  // Built by hand, not JSON.stringify(object): JS objects put integer-like keys ("0", "12") first.
  const parts: string[] = [];
  if (metadata) {
    const m: string[] = [];
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new SafetensorsWriteError(`__metadata__.${k} must be a string`, { expected: 'string values (safetensors allows only strings)' });
      m.push(`${JSON.stringify(k)}:${JSON.stringify(v)}`);
    }
    parts.push(`"__metadata__":{${m.join(',')}}`);
  }
  let pos = 0;
  for (const name of names) {
    const s = specs[name];
    const size = byteSize(s, name);
    offsets.set(name, [pos, pos + size]);
    parts.push(`${JSON.stringify(name)}:{"dtype":"${s.dtype}","shape":[${s.shape.join(',')}],"data_offsets":[${pos},${pos + size}]}`);
    pos += size;
  }
  const json = enc.encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(json.length / 8) * 8; // "Force alignment to 8 bytes"
  if (padded > MAX_HEADER_SIZE) throw new SafetensorsWriteError(`header would be ${padded} bytes, over the ${MAX_HEADER_SIZE}-byte limit`, { expected: 'fewer tensors or shorter names and metadata' });
  const headerBytes = new Uint8Array(8 + padded).fill(0x20, 8 + json.length);
  new DataView(headerBytes.buffer).setBigUint64(0, BigInt(padded), true);
  headerBytes.set(json, 8);
  return { headerBytes, offsets, dataStart: 8 + padded, totalSize: 8 + padded + pos };
}

/** Serialize tensors to one buffer (for small files and tests). */
export function serialize(tensors: Record<string, RawTensor>, metadata?: Record<string, string> | null): Uint8Array {
  const layout = planLayout(tensors, metadata);
  const out = new Uint8Array(layout.totalSize);
  out.set(layout.headerBytes, 0);
  for (const [name, [s, e]] of layout.offsets) {
    const data = tensors[name].data;
    if (data.byteLength !== e - s) throw new SafetensorsWriteError(`data has ${data.byteLength} bytes, ${tensors[name].dtype} ${shapeText(tensors[name].shape)} needs ${e - s}`, { field: `tensor '${name}'` });
    out.set(data, layout.dataStart + s);
  }
  return out;
}

/**
 * Writes a safetensors file tensor by tensor, in any order, at offsets planned up front: memory stays at one tensor.
 * The file appears atomically: data goes to `path.tmp-<pid>`, is fsync'd, then renamed over `path` by `close()`.
 */
export class SafetensorsWriter {
  private readonly layout: Layout;
  private readonly tmp: string;
  private fd: number | null;
  private readonly pending: Set<string>;
  constructor(readonly path: string, private readonly specs: Record<string, TensorSpec>, metadata?: Record<string, string> | null) {
    this.layout = planLayout(specs, metadata);
    this.pending = new Set(this.layout.offsets.keys());
    this.tmp = `${path}.tmp-${process.pid}`;
    this.fd = openSync(this.tmp, 'w');
    writeSync(this.fd, this.layout.headerBytes, 0, this.layout.headerBytes.length, 0);
  }
  /** Total file size in bytes. */
  get size(): number {
    return this.layout.totalSize;
  }
  write(name: string, data: Uint8Array): void {
    if (this.fd === null) throw new SafetensorsWriteError('writer is closed', { file: this.path });
    const off = this.layout.offsets.get(name);
    if (!off) throw new SafetensorsWriteError(`'${name}' is not in the planned layout`, { file: this.path, expected: `one of the ${this.layout.offsets.size} tensors the writer was opened with` });
    if (!this.pending.delete(name)) throw new SafetensorsWriteError(`'${name}' written twice`, { file: this.path });
    const [s, e] = off;
    if (data.byteLength !== e - s) {
      const sp = this.specs[name];
      throw new SafetensorsWriteError(`has ${data.byteLength} bytes, ${sp.dtype} ${shapeText(sp.shape)} needs ${e - s}`, { file: this.path, field: `tensor '${name}'` });
    }
    let done = 0;
    while (done < data.byteLength) done += writeSync(this.fd, data, done, data.byteLength - done, this.layout.dataStart + s + done);
  }
  close(): void {
    if (this.fd === null) return;
    if (this.pending.size) {
      this.abort();
      throw new SafetensorsWriteError(`tensors never written: ${[...this.pending].join(', ')}`, { file: this.path, expected: 'every planned tensor written before close()' });
    }
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = null;
    renameSync(this.tmp, this.path);
  }
  /** Drop the partial file; the destination is untouched. */
  abort(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    rmSync(this.tmp, { force: true });
  }
}

/** Write tensors held in memory to a file (atomically). */
export function writeSafetensors(path: string, tensors: Record<string, RawTensor>, metadata?: Record<string, string> | null): void {
  const w = new SafetensorsWriter(path, tensors, metadata);
  try {
    for (const [name, t] of Object.entries(tensors)) w.write(name, t.data);
    w.close();
  } catch (e) {
    w.abort();
    throw e;
  }
}
