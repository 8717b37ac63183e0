// The checker: a process of its own (started by grade.mjs) that loads the exercise's checks and runs them against
// the learner's module, which lives in another process (remote.mjs, bridge.mjs, sandbox.mjs). The checks compute
// their references here, on their own inputs; the learner's process only ever receives copies. The checker prints
// one JSON line per event, each with the grade's nonce, so that grade.mjs keeps every result reported before a
// hang or a crash; the learner's output never reaches this stdout (it comes back as data in the 'output' event).
import { pathToFileURL } from 'node:url';
import { helpers } from './helpers.mjs';
import { Died, Protocol, Remote, TimeLimit } from './remote.mjs';

const cfg = JSON.parse(process.argv[2]);
const emit = (o) => process.stdout.write(`${JSON.stringify({ ...o, nonce: cfg.nonce })}\n`);

/** Why the learner's process ended, in words for the report. */
function deathReason(info) {
  const how = info.signal ? `signal ${info.signal}` : `exit ${info.code}`;
  const err = info.stderr ?? '';
  if (/heap out of memory|Reached heap limit/i.test(err)) return `${how}: it ran out of the ${cfg.heapMb} MB heap limit`;
  if (/Array buffer allocation failed|out of memory|Cannot allocate memory|bad_alloc|allocation failed/i.test(err)) return `${how}: it ran out of the ${cfg.addressSpaceMb} MB memory limit (address space, ArrayBuffers included)`;
  if (info.signal === 'SIGXCPU') return `${how}: it used up its CPU time`;
  return how;
}

// What stopped the learner's process, as an event, or null while it is still usable.
function brokenEvent(broken, name) {
  if (broken instanceof TimeLimit) return { type: 'timeout', name };
  if (broken instanceof Died) return { type: 'died', name, why: deathReason(broken.info) };
  if (broken instanceof Protocol) return { type: 'protocol', name, message: broken.message };
  return null;
}

const ex = (await import(pathToFileURL(cfg.checks).href)).default;
const remote = new Remote(cfg.command, { timeoutMs: cfg.timeoutMs });
emit({ type: 'sandbox', pid: remote.pid });
try {
  let loaded;
  try {
    loaded = remote.load();
  } catch (e) {
    loaded = { failed: e };
  }
  const stopped = brokenEvent(remote.broken, null);
  if (stopped) emit(stopped);
  else if (loaded.failed) emit({ type: 'load-error', message: loaded.failed.message });
  else if (loaded.loadError !== undefined) emit({ type: 'load-error', message: loaded.loadError });
  else {
    const learner = loaded.exports;
    const missing = ex.exports.filter((n) => !Object.hasOwn(learner, n));
    if (missing.length) emit({ type: 'missing-exports', names: missing });
    else {
      for (const c of ex.checks) {
        emit({ type: 'start', name: c.name });
        let ok = false;
        let message;
        try {
          await c.run(learner, helpers);
          ok = true;
        } catch (e) {
          message = e instanceof Error ? e.message : String(e);
        }
        // A check that caught the time-out or the crash (one expecting a throw, say) is not credited.
        const brk = brokenEvent(remote.broken, c.name);
        if (brk) {
          emit(brk);
          break;
        }
        emit({ type: 'result', name: c.name, ok, message });
      }
    }
  }
} finally {
  const end = remote.close();
  emit({ type: 'output', stdout: end.stdout, stderr: end.stderr, dropped: end.dropped });
  emit({ type: 'reaped', pid: remote.pid });
  emit({ type: 'done' });
}
process.exit(0);
