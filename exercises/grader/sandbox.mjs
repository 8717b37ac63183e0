// The learner's process. Started by the checker (bridge.mjs) through launch.mjs: Node's permission model (reads of
// this file, wire.mjs, the learner's private folder and, if the file imports it, the library; no writes, no child
// processes, no workers, no addons), frozen intrinsics, no code from strings, an address-space limit, no network
// where a namespace can be made, its own process group (killed at the end). It never sees the checks, the
// solution or the score: it loads the learner's module, then answers requests on fd 3 — call this function,
// construct this class, read this property — with the results as plain data (wire.mjs). Whatever it answers is only
// what the learner's code returned; the checker compares it with references it computes itself.
import { Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import { decodeFrame, encode, frame, FrameReader } from './wire.mjs';

const learnerPath = process.argv[2];

// Routes around the permission model that the learner's code could otherwise reach from the `process` object:
// builtins by name (node:module's createRequire can load library files the import check refused), bindings,
// signals to other processes of the same user.
for (const k of ['getBuiltinModule', 'binding', '_linkedBinding', 'dlopen', 'kill', '_kill', 'chdir', 'setuid', 'setgid', 'seteuid', 'setegid', 'setgroups', 'initgroups', '_debugProcess', 'openStdin']) {
  try {
    delete process[k];
  } catch {}
}

const channel = new Socket({ fd: 3, readable: true, writable: true });
const handles = [];
const handleIds = new Map();
const handleOf = (v) => {
  if (!handleIds.has(v)) {
    handleIds.set(v, handles.length);
    handles.push(v);
  }
  return handleIds.get(v);
};
const wire = (v) => encode(v, handleOf);
const fromWire = ({ data, refs }) => {
  let root = data;
  for (const [path, h] of refs) {
    if (!path.length) root = handles[h];
    else path.slice(0, -1).reduce((o, k) => o[k], root)[path[path.length - 1]] = handles[h];
  }
  return root;
};
const message = (e) => (e instanceof Error ? `${e.message}` : String(e)).slice(0, 4000);

let nonce = null;
let learner = null;
async function answer(req) {
  switch (req.op) {
    case 'load': {
      nonce = req.nonce;
      try {
        learner = await import(pathToFileURL(learnerPath).href);
      } catch (e) {
        return { loadError: String(e instanceof Error ? e.stack ?? e.message : e).split('\n').slice(0, 4).join('\n') };
      }
      const names = Object.keys(learner);
      const out = {};
      for (const n of names) out[n] = learner[n];
      return { value: wire(out) };
    }
    case 'call':
    case 'construct': {
      const fn = handles[req.fn];
      const args = fromWire(req.args);
      const self = req.self === null ? undefined : handles[req.self];
      const v = req.op === 'construct' ? Reflect.construct(fn, args) : Reflect.apply(fn, self, args);
      return { value: wire(v) };
    }
    case 'get':
      return { value: wire(handles[req.obj][req.key]) };
    case 'set':
      handles[req.obj][req.key] = fromWire(req.value);
      return { value: wire(true) };
    case 'has':
      return { value: wire(req.key in handles[req.obj]) };
    default:
      throw new Error(`unknown request ${String(req.op)}`);
  }
}

const send = (m) => channel.write(frame({ ...m, nonce }));
const reader = new FrameReader();
let queue = Promise.resolve();
channel.on('data', (chunk) => {
  for (const body of reader.push(chunk)) {
    const req = decodeFrame(body);
    queue = queue.then(async () => {
      let reply;
      try {
        reply = await answer(req);
      } catch (e) {
        reply = { threw: message(e) };
      }
      try {
        send({ id: req.id, ...reply });
      } catch (e) {
        send({ id: req.id, threw: `the grader cannot read what your code returned: ${message(e)}` });
      }
    });
  }
});
channel.on('end', () => process.exit(0));
