// `npm run bench [-- NAME ...]`: runs the named benchmarks (all by default) and writes bench/results/NAME.json with
// the machine it ran on. Timings are never asserted by tests; compare ratios from one run.
import { mkdirSync, writeFileSync } from 'node:fs';
import { machine } from './machine.mjs';

const BENCHES = {
  gemm: () => import('./gemm.mjs'),
  quant: () => import('./quant.mjs'),
  linear4bit: () => import('./linear4bit.mjs'),
  'train-step': () => import('./trainStep.mjs'),
  'profile-step': () => import('./trainStepProfile.mjs'),
  methods: () => import('./methods.mjs'),
  'gemma2b-load': () => import('./gemma2bLoad.mjs'),
  'gemma2b-step': () => import('./gemma2bStep.mjs'),
  finetune: () => import('./finetune.mjs'),
  webgpu: () => import('./webgpu.mjs'),
  'webgpu-demo': () => import('./webgpuDemo.mjs'),
};

// benchmark names come first; everything from the first option on is the benchmarks' own (`finetune --only headline`)
const args = process.argv.slice(2);
const firstOption = args.findIndex((a) => a.startsWith('-'));
const names = firstOption < 0 ? args : args.slice(0, firstOption);
const unknown = names.filter((n) => !(n in BENCHES));
if (unknown.length) {
  console.error(`bench: unknown benchmark ${unknown.join(', ')}; available: ${Object.keys(BENCHES).join(', ')}`);
  process.exit(2);
}
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
for (const name of names.length ? names : Object.keys(BENCHES)) {
  process.stderr.write(`bench ${name}...\n`);
  const mod = await BENCHES[name]();
  const result = { ...(await mod.run()), machine: machine() };
  const path = new URL(`./results/${name}.json`, import.meta.url);
  writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
  console.log(`wrote bench/results/${name}.json`);
}
