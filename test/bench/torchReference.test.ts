// The PyTorch side of the benchmarks computes what LoRA Lab computes: bench/torch/nf4ref.py (bitsandbytes' reference
// backend in torch) quantizes LoRA Lab's input to the same packed bytes and absmax and dequantizes them exactly, and
// gemma_step.py's 4-bit autograd function gives the gradient of the explicit dequantized weight. Needs Debian's
// python3-torch, which the test command's set-up installs (scripts/setup.mjs): without it these tests fail, naming it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NF4_CODE, quantize4bit } from 'loralab/quant';
import { Rng } from '../../lib/src/util/rng.js';

const PYTHON = '/usr/bin/python3';
const root = join(import.meta.dirname, '..', '..');
const torch = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
const noTorch = torch.status === 0 ? null : `${PYTHON} cannot import torch (apt-get install python3-torch, or run npm test, whose set-up installs it)`;

function lastJson(r: ReturnType<typeof spawnSync>): Record<string, unknown> {
  expect(r.status, String(r.stderr)).toBe(0);
  return JSON.parse(String(r.stdout).trim().split('\n').at(-1)!) as Record<string, unknown>;
}

describe('PyTorch reference used by the benchmarks', () => {
  it("nf4ref.py gives LoRA Lab's packed bytes and absmax, and dequantizes them exactly (odd n, partial block)", () => {
    expect(noTorch).toBeNull();
    const n = 64 * 37 + 19;
    const x = new Rng(11).normalArray(n, 0.05);
    const { state } = quantize4bit(x, { quantType: 'nf4', blocksize: 64 });
    const dir = mkdtempSync(join(tmpdir(), 'loralab-torchref-'));
    try {
      writeFileSync(join(dir, 'meta.json'), JSON.stringify({ n, blocksize: 64, code: Array.from(NF4_CODE), quantType: 'nf4' }));
      writeFileSync(join(dir, 'input.f32'), x);
      writeFileSync(join(dir, 'packed.u8'), state.packed);
      writeFileSync(join(dir, 'absmax.f32'), state.absmax!);
      const out = lastJson(spawnSync(PYTHON, [join(root, 'bench/torch/nf4.py'), dir, '--reps', '1'], { encoding: 'utf8', timeout: 120_000 }));
      expect(out.check).toEqual({ dequantizeExact: true, packedMismatches: 0, absmaxExact: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("gemma_step.py --check: the 4-bit layer's input gradient equals autograd through the dequantized weight", () => {
    expect(noTorch).toBeNull();
    const out = lastJson(spawnSync(PYTHON, [join(root, 'bench/torch/gemma_step.py'), '--check'], { encoding: 'utf8', timeout: 120_000 }));
    expect(out.ok).toBe(true);
  });
});
