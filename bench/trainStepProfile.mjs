// `npm run bench -- profile-step`: where a training step's time goes, two ways, so that the next kernel to move into
// the native addon is picked from a measurement:
//  - by TF.js kernel and native call: every kernel registered for the wasm backend and every function of the native
//    addon is wrapped with a timer (time inside each, summed over the profiled steps); what is left of the step is
//    JavaScript — autodiff's tape, tidy, shape checks, the trainer's bookkeeping;
//  - by function: V8's sampling profiler (what node --cpu-prof writes) over the profiled steps only, self time per
//    function (wasm-function[...] are TF.js's compiled kernels; a native call shows as the JavaScript function that
//    made it).
// Each case runs in its own process: `node bench/trainStepProfile.mjs --child '<options>'`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALL_LINEAR, gemma250mDir } from './trainStep.mjs';

const TOP = 20;

async function child(o) {
  const tf = await import('@tensorflow/tfjs');
  const { initBackend } = await import('../lib/dist/backend/index.js');
  const { activeNativeAddon } = await import('../lib/dist/backend/nativeKernels.js');
  const { runSteps, setupStep, stepSeconds } = await import('./trainStepSetup.mjs');
  const backend = await initBackend({ log: false });
  const setup = setupStep(o);
  const outDir = mkdtempSync(join(tmpdir(), 'loralab-profile-'));
  try {
    runSteps(setup, o, o.warmup, outDir);
    const inKernel = new Map();
    for (const k of tf.getKernelsForBackend('wasm')) {
      const f = k.kernelFunc;
      tf.unregisterKernel(k.kernelName, 'wasm');
      tf.registerKernel({ ...k, kernelFunc: (args) => {
        const t0 = performance.now();
        try {
          return f(args);
        } finally {
          const s = inKernel.get(k.kernelName) ?? { ms: 0, calls: 0 };
          s.ms += performance.now() - t0;
          s.calls++;
          inKernel.set(k.kernelName, s);
        }
      } });
    }
    // the native addon's functions, wrapped in place (LoRA Lab looks them up on the addon object at every call)
    const inNative = new Map();
    const addon = activeNativeAddon();
    if (addon) {
      for (const [name, f] of Object.entries(addon)) {
        if (typeof f !== 'function') continue;
        addon[name] = (...args) => {
          const t0 = performance.now();
          try {
            return f(...args);
          } finally {
            const s = inNative.get(name) ?? { ms: 0, calls: 0 };
            s.ms += performance.now() - t0;
            s.calls++;
            inNative.set(name, s);
          }
        };
      }
    }
    const { Session } = await import('node:inspector/promises');
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    const seconds = stepSeconds(runSteps(setup, o, o.steps, outDir));
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    const totalMs = seconds.reduce((a, b) => a + b, 0) * 1000;
    const kernels = [...inKernel].map(([name, s]) => ({ name, ms: s.ms / o.steps, calls: s.calls / o.steps, share: s.ms / totalMs })).sort((a, b) => b.ms - a.ms);
    const kernelMs = kernels.reduce((a, k) => a + k.ms, 0);
    const nativeCalls = [...inNative].map(([name, s]) => ({ name, ms: s.ms / o.steps, calls: s.calls / o.steps, share: s.ms / totalMs })).sort((a, b) => b.ms - a.ms);
    const nativeMs = nativeCalls.reduce((a, k) => a + k.ms, 0);
    const stepMs = totalMs / o.steps;
    console.log(JSON.stringify({
      backend: backend.name, native: backend.native ?? null, stepSeconds: seconds, stepMs, kernelMs, nativeMs,
      kernelsShare: kernelMs / stepMs, nativeShare: nativeMs / stepMs, javascriptShare: 1 - (kernelMs + nativeMs) / stepMs,
      kernels, nativeCalls, cpuProfile: summarizeCpuProfile(profile),
    }));
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

/** Self time per function from a .cpuprofile (V8's sampled call tree), top `TOP`, as shares of all samples. */
export function summarizeCpuProfile(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = new Map();
  profile.samples.forEach((id, i) => dt.set(id, (dt.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  let total = 0;
  for (const [id, us] of dt) {
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    const file = url.replace(/^.*\/(node_modules\/)?/, '');
    const key = `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
    self.set(key, (self.get(key) ?? 0) + us);
    total += us;
  }
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, TOP).map(([fn, us]) => ({ fn, ms: us / 1000, share: us / total }));
  return { sampledMs: total / 1000, top };
}

function profileCase(label, o) {
  process.stderr.write(`  profile ${label}...\n`);
  const r = spawnSync(process.execPath, [new URL(import.meta.url).pathname, '--child', JSON.stringify(o)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`profile ${label} failed: ${r.stderr.slice(-2000)}`);
  return { label, settings: { ...o, modelDir: undefined }, ...JSON.parse(r.stdout.trim().split('\n').at(-1)) };
}

const pct = (x) => `${(100 * x).toFixed(1)} %`;

function markdown(cases) {
  const out = ['# Where a training step goes', '', 'Written by `npm run bench -- profile-step` (bench/trainStepProfile.mjs); figures per step, averaged over the profiled steps.', ''];
  for (const c of cases) {
    out.push(`## ${c.label}`, '', `Backend ${c.backend}${c.native ? `, native: ${c.native.state === 'on' ? `${c.native.library}, ${c.native.threads} threads` : c.native.why}` : ''}; step ${c.stepMs.toFixed(0)} ms: ${pct(c.nativeShare)} in native calls, ${pct(c.kernelsShare)} in TF.js kernels, ${pct(c.javascriptShare)} JavaScript (autodiff, tidy, the trainer's bookkeeping).`, '');
    out.push('| native call | ms per step | calls per step | share of step |', '|---|---|---|---|');
    for (const k of c.nativeCalls.slice(0, TOP)) out.push(`| ${k.name} | ${k.ms.toFixed(1)} | ${k.calls.toFixed(0)} | ${pct(k.share)} |`);
    out.push('', '| TF.js kernel | ms per step | calls per step | share of step |', '|---|---|---|---|');
    for (const k of c.kernels.slice(0, TOP)) out.push(`| ${k.name} | ${k.ms.toFixed(1)} | ${k.calls.toFixed(0)} | ${pct(k.share)} |`);
    out.push('', '| function (V8 sampling profiler, self time) | ms | share of samples |', '|---|---|---|');
    for (const f of c.cpuProfile.top) out.push(`| \`${f.fn.replace(/\|/g, '\\|')}\` | ${f.ms.toFixed(0)} | ${pct(f.share)} |`);
    out.push('');
  }
  return `${out.join('\n')}\n`;
}

export async function run() {
  const micro = new URL('../datasets/models/gemma-micro', import.meta.url).pathname;
  const base = { r: 8, targets: ALL_LINEAR, warmup: 2, steps: 4 };
  const cases = [
    profileCase('gemma-micro (4M), LoRA, batch 8 × 64', { ...base, modelDir: micro, method: 'lora', batch: 8, seq: 64, checkpointing: false }),
    profileCase('gemma-micro (4M), QLoRA, batch 8 × 64', { ...base, modelDir: micro, method: 'qlora', batch: 8, seq: 64, checkpointing: false }),
  ];
  if (process.env.PROFILE_250M === '1') {
    cases.push(profileCase('gemma-250m (253M), LoRA, batch 1 × 128, checkpointing', { ...base, modelDir: await gemma250mDir(), method: 'lora', batch: 1, seq: 128, warmup: 1, steps: 2, checkpointing: true }));
  }
  writeFileSync(new URL('./results/profile-step.md', import.meta.url), markdown(cases));
  return { name: 'profile-step', what: 'time per TF.js kernel and per function (node --cpu-prof) of a training step; also bench/results/profile-step.md', cases };
}

if (process.argv[2] === '--child') await child(JSON.parse(process.argv[3]));
