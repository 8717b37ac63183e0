import { BottleneckAdapter, PrefixKV } from 'loralab/layers';
import { namedConfig } from 'loralab/peft';
import type { Exercise } from '../grader/types.js';

const sizes: [string, number, number, number][] = [['gemma-micro', 4, 256, 64], ['gemma-2b', 18, 2048, 256], ['llama-7b', 32, 4096, 4096]];
export default {
  title: 'Parameters of adapters, prefixes and LoRA',
  exports: ['houlsbyAdapterParams', 'adapterParamsForModel', 'prefixParams'],
  forbiddenImports: ['BottleneckAdapter', 'PrefixKV', 'addBottleneckAdapters', 'addPrefixTuning', 'methodTable', 'methodTableByModules'],
  readNext: 'notebooks/05-adapters-prefix-lora.ipynb',
  checks: [
    { name: 'one Houlsby adapter', points: 2, hint: '2·d·m weights + m + d biases', run: (m, t) => {
      for (const [d, b] of [[256, 8], [4096, 64]]) t.close((m.houlsbyAdapterParams as (a: number, b: number) => number)(d, b), BottleneckAdapter.parameterCount(d, b), 0, `adapter d=${d}, m=${b}`);
    } },
    { name: 'adapters for a whole model', points: 2, hint: 'two adapters per decoder layer', run: (m, t) => {
      for (const [name, L, d] of sizes) t.close((m.adapterParamsForModel as (a: number, b: number, c: number) => number)(L, d, 16), L * 2 * BottleneckAdapter.parameterCount(d, 16), 0, `${name}, bottleneck 16`);
    } },
    { name: 'prefix tuning', points: 3, hint: 'keys and values: 2 · layers · P · kvDim', run: (m, t) => {
      for (const [name, L, , kv] of sizes) t.close((m.prefixParams as (a: number, b: number, c: number) => number)(L, 20, kv), PrefixKV.parameterCount(L, 20, kv), 0, `${name}, 20 virtual tokens`);
      const c = namedConfig('gemma-2b')!;
      t.close((m.prefixParams as (a: number, b: number, c: number) => number)(c.numHiddenLayers, 8, c.numKeyValueHeads * c.headDim), PrefixKV.parameterCount(18, 8, 256), 0, 'Gemma-2B, 8 virtual tokens');
    } },
  ],
} satisfies Exercise;
