import { namedConfig, totalParameters, loraParameterCount } from 'loralab/peft';
import { predictMemory } from 'loralab/memory';
import type { Exercise } from '../grader/types.js';

type Out = { weights: number; adapters: number; gradients: number; optimizerStates: number; total: number };
type Fn = (o: { totalParams: number; adapterParams: number; baseBytes: number; adapterBytes: number }) => Out;

const cases: [string, number][] = [['llama-7b', 8], ['llama-7b', 64], ['gemma-2b', 16]];
export default {
  title: "Where LoRA's training memory goes",
  exports: ['loraTrainingBytes'],
  forbiddenImports: ['predictMemory', 'methodTable', 'methodTableByModules'],
  readNext: 'notebooks/02-resource-bottlenecks.ipynb',
  checks: cases.map(([name, r], i) => ({
    name: `${name}, LoRA r=${r} on q,k,v,o`, points: i === 0 ? 4 : 3, hint: 'only the adapter parameters have gradients and AdamW states',
    run: (m: Record<string, unknown>, t: Parameters<Exercise['checks'][number]['run']>[1]) => {
      const cfg = namedConfig(name)!;
      const targetModules = ['q_proj', 'k_proj', 'v_proj', 'o_proj'];
      const want = predictMemory(cfg, { method: 'lora', r, targetModules }).bytes;
      const adapterParams = loraParameterCount(cfg, { r, loraAlpha: r, targetModules });
      const got = (m.loraTrainingBytes as Fn)({ totalParams: totalParameters(cfg), adapterParams, baseBytes: 2, adapterBytes: 4 });
      for (const k of ['weights', 'adapters', 'gradients', 'optimizerStates'] as const) t.closeRel(got[k], want[k], 1e-9, `${k} (bytes)`);
      t.closeRel(got.total, want.weights + want.adapters + want.gradients + want.optimizerStates, 1e-9, 'total without activations (bytes)');
    },
  })),
} satisfies Exercise;
