import { namedConfig, totalParameters } from 'loralab/peft';
import { predictMemory } from 'loralab/memory';
import type { Exercise } from '../grader/types.js';

type Fn = (n: number, o?: { weightBytes?: number; gradBytes?: number; optimizerBytes?: number }) => { weights: number; gradients: number; optimizerStates: number; total: number };

export default {
  title: 'The memory of full fine-tuning',
  exports: ['fullFineTuneBytes', 'gpusNeeded'],
  forbiddenImports: ['predictMemory', 'methodTable', 'methodTableByModules'],
  readNext: 'notebooks/01-why-fine-tune.ipynb and notebooks/02-resource-bottlenecks.ipynb',
  checks: ['llama-7b', 'llama-70b', 'gpt3-175b'].map((name, i) => ({
    name: `${name}: weights, gradients and AdamW states`, points: i === 0 ? 3 : 2, hint: '2 bytes of bf16 weight, 2 of gradient and 8 of AdamW moments per parameter',
    run: (m: Record<string, unknown>, t: Parameters<Exercise['checks'][number]['run']>[1]) => {
      const cfg = namedConfig(name)!;
      const want = predictMemory(cfg, { method: 'full' }).bytes;
      const got = (m.fullFineTuneBytes as Fn)(totalParameters(cfg));
      t.closeRel(got.weights, want.weights, 1e-9, `${name} weights (bytes)`);
      t.closeRel(got.gradients, want.gradients, 1e-9, `${name} gradients (bytes)`);
      t.closeRel(got.optimizerStates, want.optimizerStates, 1e-9, `${name} optimizer states (bytes)`);
      t.closeRel(got.total, want.weights + want.gradients + want.optimizerStates, 1e-9, `${name} total without activations (bytes)`);
    },
  })).concat([
    {
      name: 'other precisions (float32 weights and gradients)', points: 1, hint: 'use the byte sizes passed in o, defaulting to 2, 2 and 8',
      run: (m, t) => {
        const got = (m.fullFineTuneBytes as Fn)(1000, { weightBytes: 4, gradBytes: 4 });
        t.close(got.total, 16000, 0, 'total for 1000 float32 parameters with AdamW');
      },
    },
    {
      name: 'how many 80 GB GPUs', points: 2, hint: 'round up: 1.01 GPUs is 2 GPUs',
      run: (m, t) => {
        const g = m.gpusNeeded as (a: number, b: number) => number;
        t.close(g(81e9, 80e9), 2, 0, 'GPUs for 81 GB');
        t.close(g(160e9, 80e9), 2, 0, 'GPUs for exactly 160 GB');
        t.close(g(1, 80e9), 1, 0, 'GPUs for 1 byte');
      },
    },
  ]),
} satisfies Exercise;
