// What crosses between the checker and the learner's sandboxed process: length-prefixed frames of V8's structured
// serialization (node:v8), carrying plain data only. A value is sent as { data, refs }: `data` is the value with
// every function or non-plain object replaced by null, and `refs` lists [path, handle, kind] for each of them (kind:
// 'function' or 'object'), so the
// other side can put a stand-in there (a remote function, or a remote object whose properties are fetched on use).
// Used on both sides; the checker also validates what it receives (checkData) before any check sees it.
import { deserialize, serialize } from 'node:v8';

/** The largest frame either side accepts, bytes. */
export const MAX_FRAME = 64 << 20;
const MAX_DEPTH = 64;

/** One message as a frame: 4-byte big-endian length, then the serialized message. */
export function frame(message) {
  const body = serialize(message);
  if (body.length > MAX_FRAME) throw new Error(`a message of ${body.length} bytes is over the ${MAX_FRAME >> 20} MB limit`);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
}

/** Reassembles frames from stream chunks; throws on a frame over MAX_FRAME (the stream is then unusable). */
export class FrameReader {
  #buf = Buffer.alloc(0);
  /** The complete frames' bodies (Buffers, not yet deserialized) that `chunk` completes. */
  push(chunk) {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, chunk]) : chunk;
    const out = [];
    while (this.#buf.length >= 4) {
      const n = this.#buf.readUInt32BE(0);
      if (n > MAX_FRAME) throw new Error(`a message of ${n} bytes is over the ${MAX_FRAME >> 20} MB limit`);
      if (this.#buf.length < 4 + n) break;
      out.push(this.#buf.subarray(4, 4 + n));
      this.#buf = this.#buf.subarray(4 + n);
    }
    return out;
  }
}

export const isPlainObject = (v) => {
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
};
const isTypedArray = (v) => ArrayBuffer.isView(v) && !(v instanceof DataView);

/**
 * `value` as { data, refs }. `handleOf(v)` gives the handle for a function or an object that is not plain data (an
 * array, a typed array or a plain object), or undefined to refuse it.
 */
export function encode(value, handleOf) {
  const refs = [];
  const open = new Set();
  const enc = (v, path) => {
    if (typeof v === 'symbol') throw new Error(`${where(path)} is a symbol`);
    if (v === null || (typeof v !== 'object' && typeof v !== 'function')) return v;
    if (isTypedArray(v)) return v;
    if (typeof v === 'function' || !(Array.isArray(v) || isPlainObject(v))) {
      const h = handleOf(v);
      if (h === undefined) throw new Error(`${where(path)} is a ${typeof v === 'function' ? 'function' : (v.constructor?.name ?? 'object')}, which cannot be sent`);
      refs.push([path, h, typeof v === 'function' ? 'function' : 'object']);
      return null;
    }
    if (path.length >= MAX_DEPTH) throw new Error(`${where(path)} is nested more than ${MAX_DEPTH} levels deep`);
    if (open.has(v)) throw new Error(`${where(path)} contains itself`);
    open.add(v);
    let out;
    if (Array.isArray(v)) {
      out = new Array(v.length);
      for (let i = 0; i < v.length; i++) out[i] = enc(v[i], [...path, i]);
    } else {
      out = {};
      for (const k of Object.keys(v)) Object.defineProperty(out, k, { value: enc(v[k], [...path, k]), enumerable: true, writable: true, configurable: true });
    }
    open.delete(v);
    return out;
  };
  return { data: enc(value, []), refs };
}

const where = (path) => (path.length ? `the value at ${path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`)).join('')}` : 'the value');

/**
 * Checks that a deserialized value is plain data — numbers, strings, booleans, null, undefined, bigints, arrays,
 * typed arrays and plain objects, at most MAX_DEPTH deep — and returns it; throws a message for the learner
 * otherwise (a Map, a Date, an ArrayBuffer…).
 */
export function checkData(v, path = []) {
  if (v === null || (typeof v !== 'object' && typeof v !== 'function')) return v;
  if (isTypedArray(v)) return v;
  if (path.length >= MAX_DEPTH) throw new Error(`${where(path)} is nested more than ${MAX_DEPTH} levels deep`);
  if (Array.isArray(v) && Object.getPrototypeOf(v) === Array.prototype) {
    for (let i = 0; i < v.length; i++) checkData(v[i], [...path, i]);
    return v;
  }
  if (isPlainObject(v)) {
    for (const k of Object.keys(v)) checkData(v[k], [...path, k]);
    return v;
  }
  throw new Error(`${where(path)} is a ${v.constructor?.name ?? 'object'}; the grader checks numbers, strings, arrays, typed arrays and plain objects`);
}

/** Puts `make(handle, kind)` at each ref's path in checked data (defineProperty: a key '__proto__' stays a key). */
export function placeRefs(data, refs, make) {
  if (!Array.isArray(refs)) throw new Error('refs is not a list');
  let root = data;
  for (const ref of refs) {
    if (!Array.isArray(ref) || ref.length !== 3 || !Array.isArray(ref[0]) || !Number.isInteger(ref[1]) || (ref[2] !== 'function' && ref[2] !== 'object')) throw new Error('a malformed ref');
    const [path, h, kind] = ref;
    if (path.length === 0) {
      root = make(h, kind);
      continue;
    }
    let at = root;
    for (const k of path.slice(0, -1)) {
      if (at === null || typeof at !== 'object' || !Object.hasOwn(at, k)) throw new Error('a ref to a missing place');
      at = at[k];
    }
    const last = path[path.length - 1];
    if (at === null || typeof at !== 'object' || ArrayBuffer.isView(at) || !Object.hasOwn(at, last) || at[last] !== null) throw new Error('a ref to a missing place');
    Object.defineProperty(at, last, { value: make(h, kind), enumerable: true, writable: true, configurable: true });
  }
  return root;
}

export const decodeFrame = (body) => deserialize(body);
