// A worker thread of the checker that owns the learner's process: it spawns it (detached, so that it leads its own
// process group), writes request frames to its fd 3 and passes reply frames back, collects its output, enforces the
// time limit, and at the end kills the whole process group. The checker's main thread blocks on a shared flag while
// a request is out (remote.mjs), so that the checks — ordinary synchronous code — can call the learner's functions
// as if they were local; this thread is the one that keeps running meanwhile.
import { spawn } from 'node:child_process';
import { parentPort, workerData } from 'node:worker_threads';
import { FrameReader } from './wire.mjs';

const { flag, port, command, timeoutMs, outputLimit } = workerData;
const signal = new Int32Array(flag);
const reply = (m) => {
  port.postMessage(m);
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
};

const child = spawn(command.file, command.args, { detached: true, stdio: ['ignore', 'pipe', 'pipe', 'pipe'], env: command.env, cwd: command.cwd });
const output = { stdout: '', stderr: '', dropped: 0 };
for (const k of ['stdout', 'stderr']) {
  child[k].setEncoding('utf8');
  child[k].on('data', (s) => {
    const room = outputLimit - output[k].length;
    if (room > 0) output[k] += s.slice(0, room);
    output.dropped += Math.max(0, s.length - Math.max(room, 0));
  });
}
let exited = null; // { code, signal, timedOut }
let timedOut = false;
let pending = null; // a request's id waiting for its frame
const killGroup = () => {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {}
};
const exitWaiters = [];
// 'close': the process has exited and its output pipes are drained (the memory messages come last on stderr).
child.on('close', (code, sig) => {
  exited = { code, signal: sig, timedOut };
  killGroup(); // anything it left in its group goes with it
  if (pending !== null) {
    pending = null;
    reply({ kind: 'died', ...exited, stderr: output.stderr.slice(-4000) });
  }
  for (const w of exitWaiters.splice(0)) w();
});
child.on('error', (e) => {
  exited = { code: null, signal: null, timedOut: false, error: e.message };
  if (pending !== null) {
    pending = null;
    reply({ kind: 'died', ...exited, stderr: e.message });
  }
});
const timer = setTimeout(() => {
  timedOut = true;
  killGroup();
}, timeoutMs);

const channel = child.stdio[3];
const reader = new FrameReader();
channel.on('data', (chunk) => {
  let bodies;
  try {
    bodies = reader.push(chunk);
  } catch (e) {
    channel.destroy();
    killGroup();
    if (pending !== null) {
      pending = null;
      reply({ kind: 'protocol', message: e.message });
    }
    return;
  }
  for (const body of bodies) {
    if (pending === null) continue; // nothing asked for it: the checker reads only replies to its requests
    pending = null;
    reply({ kind: 'reply', body });
  }
});
channel.on('error', () => {});

parentPort.on('message', (m) => {
  if (m.kind === 'hello') return reply({ kind: 'hello', pid: child.pid });
  if (m.kind === 'send') {
    if (exited) return reply({ kind: 'died', ...exited, stderr: output.stderr.slice(-4000) });
    pending = m.id;
    channel.write(m.bytes);
    return undefined;
  }
  if (m.kind === 'close') {
    clearTimeout(timer);
    killGroup();
    let sent = false;
    const done = () => {
      if (!sent) reply({ kind: 'closed', pid: child.pid, exit: exited, ...output });
      sent = true;
    };
    if (exited) done();
    else {
      exitWaiters.push(done);
      setTimeout(done, 3000).unref();
    }
  }
  return undefined;
});
