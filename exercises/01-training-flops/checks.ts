import { namedConfig, totalParameters } from 'loralab/peft';
import type { Exercise } from '../grader/types.js';

type F2 = (n: number, d: number) => number;
const N7 = totalParameters(namedConfig('llama-7b')!);

export default {
  title: 'Training FLOPs and time',
  exports: ['trainingFlops', 'inferenceFlops', 'trainingHours'],
  readNext: 'notebooks/01-why-fine-tune.ipynb, and Kaplan et al. (2020), section 2.1, for the 6N rule',
  checks: [
    { name: 'training FLOPs = 6·N·D', points: 3, hint: 'forward 2N + backward 4N per token', run: (m, t) => {
      t.closeRel((m.trainingFlops as F2)(N7, 1e12), 6 * N7 * 1e12, 1e-12, 'LLaMA-7B on 1e12 tokens');
      t.closeRel((m.trainingFlops as F2)(4e6, 5e5), 1.2e13, 1e-12, 'gemma-micro-sized model on 5e5 tokens');
    } },
    { name: 'inference FLOPs = 2·N·D', points: 1, hint: 'one multiply-add per weight per token', run: (m, t) => t.closeRel((m.inferenceFlops as F2)(N7, 1000), 2 * N7 * 1000, 1e-12, 'LLaMA-7B, 1000 tokens') },
    { name: 'training time in hours at a given utilization', points: 3, hint: 'seconds = FLOPs / (peak × utilization); hours = seconds / 3600', run: (m, t) => {
      const h = m.trainingHours as (n: number, d: number, p: number, u: number) => number;
      t.closeRel(h(N7, 1e8, 1e15, 0.4), (6 * N7 * 1e8) / 4e14 / 3600, 1e-12, 'LLaMA-7B, 1e8 tokens, 1 PFLOP/s peak at 40 %');
    } },
    { name: 'a utilization outside (0, 1] is refused', points: 1, hint: 'throw new Error(...) when utilization <= 0 or > 1', run: (m, t) => {
      const h = m.trainingHours as (n: number, d: number, p: number, u: number) => number;
      for (const u of [0, 1.5, -0.1]) {
        let threw = false;
        try { h(1, 1, 1, u); } catch { threw = true; }
        if (!threw) t.fail(`trainingHours(…, utilization = ${u}) returned instead of throwing`);
      }
    } },
  ],
} satisfies Exercise;
