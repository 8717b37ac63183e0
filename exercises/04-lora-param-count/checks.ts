import { namedConfig, loraParameterCount } from 'loralab/peft';
import type { Exercise } from '../grader/types.js';

type Fn = (cfg: object, r: number, t: string[]) => number;
const ALL = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];
const cases: [string, number, string[], number][] = [
  ['llama-7b', 8, ['q_proj', 'v_proj'], 2], ['gemma-2b', 16, ['q_proj', 'k_proj', 'v_proj', 'o_proj'], 3],
  ['llama-70b', 64, ['k_proj', 'v_proj'], 2], ['gemma-2b', 4, ALL, 3],
];
export default {
  title: 'Counting LoRA parameters',
  exports: ['loraParamCount'],
  forbiddenImports: ['loraParameterCount', 'loraParamsForMatrix', 'methodTable', 'methodTableByModules', 'predictMemory'],
  readNext: 'notebooks/04-lora-mathematics.ipynb (parameter counts for a 7B model)',
  checks: cases.map(([name, r, targets, points]) => ({
    name: `${name}, r=${r}, ${targets.length === 7 ? 'all linear layers' : targets.join(',')}`, points,
    hint: name === 'llama-70b' || name === 'gemma-2b' ? 'k_proj and v_proj have numKeyValueHeads·headDim outputs, not hiddenSize' : 'r·(d_in + d_out) per matrix, per layer',
    run: (m: Record<string, unknown>, t: Parameters<Exercise['checks'][number]['run']>[1]) => {
      const cfg = namedConfig(name)!;
      t.close((m.loraParamCount as Fn)(cfg, r, targets), loraParameterCount(cfg, { r, loraAlpha: r, targetModules: targets }), 0, 'LoRA parameters');
    },
  })),
} satisfies Exercise;
