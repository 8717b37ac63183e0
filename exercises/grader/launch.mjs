// How the learner's process is started: the command line of the sandbox (sandbox.mjs) and what each layer of it
// stops. Layers, outermost first:
//   prlimit (or the shell's ulimit): address space (so ArrayBuffers and WebAssembly memory count, not only V8's
//     heap), CPU seconds, no core files, no file of more than 0 bytes;
//   unshare -n (-rn when not root): a network namespace with no interfaces — Node 20's permission model does not
//     cover the network;
//   setpriv to nobody (when the grader runs as root): the learner's code cannot signal or read what belongs to the
//     grader's user, and the system's files are not root's to it;
//   node with the permission model: reads only of the listed paths, no writes, no child processes, no workers, no
//     addons, no WASI; --frozen-intrinsics (Math.abs, JSON.stringify… cannot be replaced);
//     --disallow-code-generation-from-strings (no eval, so no import() built from a string at run time).
// Each optional layer is probed once; a layer this machine cannot provide is named in `missing` and skipped.
// What none of them stops: CPU and memory use up to the limits; reading the granted paths (the library's own
// source and its dependencies, which are public); writing to the file descriptors it was given (its output pipes
// and the channel, read only as data by the checker).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';

const here = dirname(new URL(import.meta.url).pathname);
const NOBODY = 65534;

const which = (name) => ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin'].map((d) => join(d, name)).find((p) => existsSync(p)) ?? null;
const works = (cmd, args) => spawnSync(cmd, args, { stdio: 'ignore', timeout: 10_000 }).status === 0;

/** The files the sandbox itself needs to read. */
export const SANDBOX_FILES = [join(here, 'sandbox.mjs'), join(here, 'wire.mjs')];

/** lib/dist, lib/package.json and the library's dependencies as installed (the package folders, real paths). */
export function libraryReadPaths(root) {
  const lib = join(root, 'lib');
  const out = new Set([join(lib, 'dist'), join(lib, 'package.json')]);
  const seen = new Set();
  const visit = (fromDir, name) => {
    for (let d = fromDir; ; d = dirname(d)) {
      const p = join(d, 'node_modules', name);
      if (existsSync(join(p, 'package.json'))) {
        const real = realpathSync(p);
        if (seen.has(real)) return;
        seen.add(real);
        out.add(real);
        const pkg = JSON.parse(readFileSync(join(real, 'package.json'), 'utf8'));
        for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies, ...pkg.peerDependencies })) visit(real, dep);
        return;
      }
      if (dirname(d) === d) return;
    }
  };
  const pkg = JSON.parse(readFileSync(join(lib, 'package.json'), 'utf8'));
  for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) visit(lib, dep);
  return [...out];
}

/**
 * Probes this machine once: which wrappers work, and the permission flag's name (`--permission` from Node 22.13,
 * `--experimental-permission` before). `readable` are paths the sandbox must read, tried as the unprivileged user.
 */
export function sandboxPlan({ readable = [] } = {}) {
  const node = process.execPath;
  const missing = [];
  const layers = [];
  const permission = process.allowedNodeEnvironmentFlags.has('--permission') ? '--permission' : '--experimental-permission';
  const prlimit = which('prlimit');
  const limits = prlimit && works(prlimit, ['--as=2147483648', '--', node, '-e', '0']) ? 'prlimit' : 'ulimit';
  layers.push(limits === 'prlimit' ? 'address-space limit (prlimit)' : 'address-space limit (ulimit -v)');
  const root = process.getuid?.() === 0;
  const unshare = which('unshare');
  let net = null;
  if (unshare && works(unshare, [root ? '-n' : '-rn', '--', node, '-e', '0'])) net = [unshare, root ? '-n' : '-rn', '--'];
  if (net) layers.push('no network (namespace)');
  else missing.push('no network namespace (unshare -n failed): the learner code can open network connections');
  let user = null;
  const setpriv = which('setpriv');
  if (root) {
    const drop = setpriv ? [setpriv, `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--no-new-privs', '--'] : null;
    const probe = `for (const p of ${JSON.stringify(readable)}) require('fs').accessSync(p)`;
    if (drop && works(drop[0], [...drop.slice(1), node, '-e', probe])) user = drop;
    if (user) layers.push('unprivileged user (nobody)');
    else missing.push('running as root and cannot switch to nobody (setpriv missing, or the files are not readable by it)');
  }
  layers.push('permission model', 'frozen intrinsics', 'no code from strings');
  return { node, permission, limits, prlimit, net, user, layers, missing };
}

/**
 * The command that starts the sandbox on `learnerFile` (in its private folder `learnerDir`), granting reads of the
 * library when `library` is true. `heapMb` caps V8's heap; `addressSpaceMb` the whole process.
 */
export function sandboxCommand(plan, { root, learnerDir, learnerFile, library, heapMb, addressSpaceMb, cpuSeconds }) {
  const reads = [...SANDBOX_FILES, learnerDir, ...(library ? libraryReadPaths(root) : [])];
  const nodeArgs = [
    plan.permission, ...reads.map((p) => `--allow-fs-read=${p}`),
    '--frozen-intrinsics', '--disallow-code-generation-from-strings', '--no-addons', '--no-warnings',
    // WebAssembly memories otherwise reserve ~10 GB of guard pages each, which no address-space limit admits.
    ...(process.allowedNodeEnvironmentFlags.has('--disable-wasm-trap-handler') ? ['--disable-wasm-trap-handler'] : []),
    `--max-old-space-size=${heapMb}`, SANDBOX_FILES[0], learnerFile,
  ];
  const inner = [...(plan.net ?? []), ...(plan.user ?? []), plan.node, ...nodeArgs];
  const as = addressSpaceMb * 1024 * 1024;
  const [file, ...args] = plan.limits === 'prlimit'
    ? [plan.prlimit, `--as=${as}`, `--cpu=${cpuSeconds}`, '--core=0', '--fsize=0', '--', ...inner]
    : ['/bin/sh', '-c', `ulimit -v ${as / 1024} -t ${cpuSeconds} -c 0 -f 0 && exec "$@"`, 'sandbox', ...inner];
  // glibc gives each thread its own malloc arena (64 MB of address space apiece): one arena keeps the limit for data.
  return { file, args, env: { MALLOC_ARENA_MAX: '1' } };
}
