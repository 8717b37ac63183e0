import { namedConfig, linearShapes, totalParameters } from 'loralab/peft';
import { predictMemory } from 'loralab/memory';
import type { Exercise } from '../grader/types.js';

type Base = (o: { linearParams: number; otherParams: number; blocksize: number; doubleQuant: boolean }) => number;
type Rank = (o: { budgetBytes: number; baseBytes: number; paramsPerRank: number; bytesPerAdapterParam: number }) => number;
export default {
  title: 'A QLoRA configuration for a memory budget',
  exports: ['qloraBaseBytes', 'largestRank'],
  forbiddenImports: ['predictMemory', 'methodTable', 'methodTableByModules', 'bitsPerParameter'],
  readNext: 'notebooks/07-practice.ipynb and notebooks/06-qlora.ipynb',
  checks: [
    ...(['gemma-2b', 'llama-7b', 'llama-65b'] as const).flatMap((name) => [true, false].map((dq) => ({
      name: `${name} base in NF4${dq ? ' + double quantization' : ''}`, points: 1, hint: '½ byte per linear weight + constants; other parameters 2 bytes',
      run: (m: Record<string, unknown>, t: Parameters<Exercise['checks'][number]['run']>[1]) => {
        const cfg = namedConfig(name)!;
        const linear = [...linearShapes(cfg).values()].reduce((s, [a, b]) => s + a * b, 0);
        const want = predictMemory(cfg, { method: 'qlora', doubleQuant: dq }).bytes;
        t.closeRel((m.qloraBaseBytes as Base)({ linearParams: linear, otherParams: totalParameters(cfg) - linear, blocksize: 64, doubleQuant: dq }), want.weights + want.quantizationConstants, 1e-9, `${name} base (bytes)`);
      },
    }))),
    { name: 'largest rank under a budget', points: 3, hint: 'round down, and 0 when the base alone does not fit', run: (m, t) => {
      const f = m.largestRank as Rank;
      t.close(f({ budgetBytes: 1000, baseBytes: 400, paramsPerRank: 10, bytesPerAdapterParam: 16 }), 3, 0, 'r for 600 free bytes at 160 bytes per rank');
      t.close(f({ budgetBytes: 1000, baseBytes: 360, paramsPerRank: 10, bytesPerAdapterParam: 16 }), 4, 0, 'r for exactly 640 free bytes');
      t.close(f({ budgetBytes: 100, baseBytes: 400, paramsPerRank: 10, bytesPerAdapterParam: 16 }), 0, 0, 'r when the base does not fit');
    } },
  ],
} satisfies Exercise;
