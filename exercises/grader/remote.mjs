// The checker's view of the learner's module: stand-ins whose use becomes a synchronous request to the learner's
// process (through bridge.mjs), so that the checks run unchanged in a process the learner's code never runs in.
// A remote function, called, sends copies of its arguments and returns a checked copy of the result; `new` on it
// constructs there; a remote object (a class instance, say) fetches each property when it is read. Every reply is
// validated (the request's id and the session's nonce, the envelope, plain data only) before a check sees it.
import { randomBytes } from 'node:crypto';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { checkData, decodeFrame, encode, frame, placeRefs } from './wire.mjs';

/** The time limit ran out while the learner's code was running (or loading). */
export class TimeLimit extends Error {}
/** The learner's process ended (a crash, process.exit, the memory limit); `info` has its exit and stderr. */
export class Died extends Error {
  constructor(info) {
    super('the process stopped');
    this.info = info;
  }
}
/** A reply that is not one (a wrong id or nonce, a malformed envelope): the channel cannot be trusted further. */
export class Protocol extends Error {}

export class Remote {
  #worker;
  #port;
  #signal;
  #deadline;
  #nonce = randomBytes(16).toString('hex');
  #id = 0;
  #handles = new WeakMap(); // stand-in → handle, to send a remote object back as itself
  #broken = null;

  /** Starts the learner's process with `command` (launch.mjs); the time limit counts from now. */
  constructor(command, { timeoutMs, outputLimit = 16384 }) {
    const flag = new SharedArrayBuffer(4);
    const { port1, port2 } = new MessageChannel();
    this.#signal = new Int32Array(flag);
    this.#port = port1;
    this.#deadline = Date.now() + timeoutMs;
    this.#worker = new Worker(new URL('./bridge.mjs', import.meta.url), { workerData: { flag, port: port2, command, timeoutMs, outputLimit }, transferList: [port2] });
    const hello = this.#exchange({ kind: 'hello' }, 30_000);
    if (!hello) throw new Error("the learner's process could not be started within 30 s");
    this.pid = hello.pid;
  }

  // Posts to the bridge and blocks until it answers or `waitMs` passes (then null).
  #exchange(m, waitMs) {
    while (receiveMessageOnPort(this.#port)) {} // a late answer to a request given up on
    Atomics.store(this.#signal, 0, 0);
    this.#worker.postMessage(m);
    if (Atomics.wait(this.#signal, 0, 0, Math.max(0, waitMs)) === 'timed-out') return null;
    return receiveMessageOnPort(this.#port)?.message ?? null;
  }

  #request(op) {
    if (this.#broken) throw this.#broken;
    const id = ++this.#id;
    // A second past the deadline: the bridge kills the process at the deadline and says so.
    const r = this.#exchange({ kind: 'send', id, bytes: frame({ ...op, id, ...(op.op === 'load' ? { nonce: this.#nonce } : {}) }) }, this.#deadline - Date.now() + 1000);
    if (r === null) throw (this.#broken = new TimeLimit('time limit'));
    if (r.kind === 'died') throw (this.#broken = r.timedOut ? new TimeLimit('time limit') : new Died(r));
    if (r.kind === 'protocol') throw (this.#broken = new Protocol(r.message));
    let m;
    try {
      m = decodeFrame(Buffer.from(r.body));
    } catch (e) {
      throw (this.#broken = new Protocol(`an unreadable reply (${e.message})`));
    }
    if (!m || typeof m !== 'object' || m.id !== id || m.nonce !== this.#nonce) throw (this.#broken = new Protocol('a reply that does not answer the request'));
    if (typeof m.loadError === 'string' && op.op === 'load') return { loadError: m.loadError };
    if (typeof m.threw === 'string') {
      throw new Error(m.threw.slice(0, 4000));
    }
    const v = m.value;
    if (!v || typeof v !== 'object' || !('data' in v)) throw (this.#broken = new Protocol('a reply without a value'));
    try {
      return { value: placeRefs(checkData(v.data), v.refs, (h, kind) => this.#standIn(h, kind)) };
    } catch (e) {
      throw new Error(`your code returned something the grader cannot check: ${e.message}`);
    }
  }

  #send(v) {
    return encode(v, (x) => this.#handles.get(x));
  }

  // A remote function is a function (callable, constructible); any other remote value an object whose properties
  // are read, written and tested over the channel.
  #standIn(h, kind) {
    const remote = this;
    const target = kind === 'function'
      ? function remoteFunction(...args) {
        const self = new.target ? null : remote.#handles.get(this) ?? null;
        return remote.#request({ op: new.target ? 'construct' : 'call', fn: h, self, args: remote.#send(args) }).value;
      }
      : {};
    const standIn = new Proxy(target, {
      get: (_, key) => (typeof key === 'symbol' ? undefined : remote.#request({ op: 'get', obj: h, key }).value),
      set: (_, key, value) => typeof key !== 'symbol' && remote.#request({ op: 'set', obj: h, key, value: remote.#send(value) }).value === true,
      has: (_, key) => typeof key !== 'symbol' && remote.#request({ op: 'has', obj: h, key }).value === true,
    });
    this.#handles.set(standIn, h);
    return standIn;
  }

  /** Why the learner's process can no longer be asked anything (a TimeLimit, Died or Protocol), or null. */
  get broken() {
    return this.#broken;
  }

  /** Loads the learner's module: { exports } (a plain object of stand-ins and data) or { loadError }. */
  load() {
    const r = this.#request({ op: 'load' });
    return r.loadError !== undefined ? r : { exports: r.value };
  }

  /** Ends the learner's process group; returns its output and how it ended. */
  close() {
    const r = this.#exchange({ kind: 'close' }, 5000);
    void this.#worker.terminate();
    return r ?? { stdout: '', stderr: '', dropped: 0, exit: null, pid: this.pid };
  }
}
