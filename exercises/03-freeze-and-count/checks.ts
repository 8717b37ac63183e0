import { createGemma } from 'loralab/models/gemma';
import { getPeftModel, namedConfig } from 'loralab/peft';
import { countParameters, formatTrainableParameters } from 'loralab/layers';
import type { Exercise } from '../grader/types.js';

type P = { name: string; numel: number; trainable: boolean };
function build(targets: string[] | string, r: number) {
  const peft = getPeftModel(createGemma(namedConfig('gemma-2b')!, { meta: true }), { r, loraAlpha: 2 * r, targetModules: targets });
  const list: P[] = [...peft.baseModel.namedParameters()].map((p) => ({ name: p.name, numel: p.numel, trainable: true })); // as if nothing were frozen
  return { list, line: formatTrainableParameters(countParameters(peft.baseModel)) };
}

export default {
  title: 'Freeze the model, train the adapter, count',
  exports: ['freezeExceptLora', 'trainableLine'],
  forbiddenImports: ['formatTrainableParameters', 'countParameters'],
  readNext: 'notebooks/03-lora-idea.ipynb; PEFT: print_trainable_parameters',
  checks: [
    { name: 'only lora_A and lora_B stay trainable', points: 3, hint: 'trainable = the name contains "lora_"; return new objects', run: (m, t) => {
      const { list } = build(['q_proj', 'v_proj'], 8);
      const before = JSON.stringify(list);
      const out = (m.freezeExceptLora as (p: P[]) => P[])(list);
      if (JSON.stringify(list) !== before) t.fail('your function changed its input list; return a new one');
      const bad = out.find((p) => p.trainable !== p.name.includes('lora_'));
      if (bad) t.fail(`'${bad.name}' is ${bad.trainable ? 'trainable' : 'frozen'}; only LoRA matrices should train`);
    } },
    ...([[['q_proj', 'v_proj'], 8], ['all-linear', 64]] as [string[] | string, number][]).map(([targets, r]) => ({
      name: `PEFT's line for Gemma-2B, r=${r}, ${Array.isArray(targets) ? targets.join(',') : targets}`, points: 3, hint: "all params counts base + adapters; toLocaleString('en-US'); toFixed(4)",
      run: (m: Record<string, unknown>, t: Parameters<Exercise['checks'][number]['run']>[1]) => {
        const { list, line } = build(targets, r);
        const got = (m.trainableLine as (p: P[]) => string)((m.freezeExceptLora as (p: P[]) => P[])(list));
        if (got !== line) t.fail(`expected\n        ${line}\n      got\n        ${got}`);
      },
    })),
  ],
} satisfies Exercise;
