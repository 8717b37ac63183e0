import { namedConfig } from 'loralab/peft';
import type { Exercise } from '../grader/types.js';

type KV = (o: { layers: number; kvHeads: number; headDim: number; seqLen: number; batch: number; bytesPerValue: number }) => number;
const shape = (n: string) => { const c = namedConfig(n)!; return { layers: c.numHiddenLayers, kvHeads: c.numKeyValueHeads, headDim: c.headDim }; };

export default {
  title: 'Sizing the KV cache',
  exports: ['kvCacheBytes', 'maxConcurrentSequences'],
  readNext: 'notebooks/02-resource-bottlenecks.ipynb (inference and serving)',
  checks: [
    ...['gemma-2b', 'llama-7b', 'llama-70b'].map((n) => ({
      name: `${n}: 8 sequences of 4096 tokens in bf16`, points: 2, hint: 'keys and values: a factor 2; use the number of KV heads',
      run: (m: Record<string, unknown>, t: Parameters<Exercise['checks'][number]['run']>[1]) => {
        const s = shape(n);
        t.close((m.kvCacheBytes as KV)({ ...s, seqLen: 4096, batch: 8, bytesPerValue: 2 }), 2 * s.layers * s.kvHeads * s.headDim * 4096 * 8 * 2, 0, `${n} KV cache (bytes)`);
      },
    })),
    { name: 'sequences that fit in 40 GB (LLaMA-7B, 4096 tokens)', points: 2, hint: 'a whole number: round down', run: (m, t) => {
      const s = shape('llama-7b');
      const per = 2 * s.layers * s.kvHeads * s.headDim * 4096 * 2;
      t.close((m.maxConcurrentSequences as (o: object) => number)({ freeBytes: 40e9, ...s, seqLen: 4096, bytesPerValue: 2 }), Math.floor(40e9 / per), 0, 'sequences');
    } },
  ],
} satisfies Exercise;
