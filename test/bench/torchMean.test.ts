// LoRA Lab's float32 sum and mean against PyTorch's own (torch.sum / torch.mean on the CPU), on random vectors of many
// lengths, including the lengths where the cascade's block size changes and where PyTorch splits the sum across
// threads. bitsandbytes stores `nested_offset = absmax.mean()`, so this is what makes the offset byte-equal. Needs
// Debian's python3-torch, which the test command's set-up installs (scripts/setup.mjs): without it this test fails,
// naming it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { f32Bits, torchMeanF32, torchSumF32 } from 'loralab/quant';
import { absmaxVectors } from '../helpers/absmaxVectors.js';

const PYTHON = '/usr/bin/python3';
const torch = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
const noTorch = torch.status === 0 ? null : `${PYTHON} cannot import torch (apt-get install python3-torch, or run npm test, whose set-up installs it)`;

const SCRIPT = `
import sys, json, struct, torch, numpy as np
torch.set_num_threads(int(sys.argv[2]))
cap = torch.__config__.show()
lanes = 16 if 'CPU capability usage: AVX512' in cap else 8
data = np.fromfile(sys.argv[1] + '/x.f32', dtype=np.float32)
bits = lambda v: struct.unpack('<I', struct.pack('<f', v))[0]
out, off = [], 0
for n in json.load(open(sys.argv[1] + '/lengths.json')):
    t = torch.from_numpy(data[off:off + n].copy()); off += n
    out.append([bits(t.sum().item()), bits(t.mean().item())])
print(json.dumps({'lanes': lanes, 'threads': torch.get_num_threads(), 'bits': out}))
`;

function torchBits(xs: Float32Array[], threads: number): { lanes: 8 | 16; bits: [number, number][] } {
  const dir = mkdtempSync(join(tmpdir(), 'loralab-torchmean-'));
  try {
    const all = new Float32Array(xs.reduce((s, x) => s + x.length, 0));
    let off = 0;
    for (const x of xs) {
      all.set(x, off);
      off += x.length;
    }
    writeFileSync(join(dir, 'x.f32'), all);
    writeFileSync(join(dir, 'lengths.json'), JSON.stringify(xs.map((x) => x.length)));
    const r = spawnSync(PYTHON, ['-c', SCRIPT, dir, String(threads)], { encoding: 'utf8', timeout: 300_000, maxBuffer: 1 << 26 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { lanes: 8 | 16; threads: number; bits: [number, number][] };
    expect(out.threads).toBe(threads);
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const fixture: { threads: number; seed: number; lengths: number[]; lanes: number; bits: [number, number][] }[] = [];

describe("float32 sum and mean, bit for bit against PyTorch's CPU reduction", () => {
  const lengths = [
    ...Array.from({ length: 70 }, (_, i) => i + 1), 100, 127, 128, 129, 255, 256, 257, 1000, 1023, 1024, 1025, 4095, 4096, 4097,
    16383, 16384, 16385, 32767, 32768, 32769, 65536, 65539, 100_003, (1 << 19) - 1, (1 << 19) + 1, (1 << 20) + 7,
  ];
  for (const threads of [1, 2]) {
    it(`${lengths.length} random vectors of lengths 1 .. 1,048,583, torch.set_num_threads(${threads})`, () => {
      expect(noTorch).toBeNull();
      const seed = 17 + threads;
      const xs = absmaxVectors(lengths, seed);
      const ref = torchBits(xs, threads);
      fixture.push({ threads, seed, lengths, lanes: ref.lanes, bits: ref.bits });
      const mismatches: string[] = [];
      let float64Misses = 0;
      xs.forEach((x, i) => {
        const [sum, mean] = ref.bits[i];
        const ours = [f32Bits(torchSumF32(x, { lanes: ref.lanes, threads })), f32Bits(torchMeanF32(x, { lanes: ref.lanes, threads }))];
        let s64 = 0;
        for (const v of x) s64 += v;
        if (f32Bits(Math.fround(s64 / x.length)) !== mean) float64Misses++;
        if (ours[0] !== sum || ours[1] !== mean) mismatches.push(`n=${x.length}: sum ${ours[0].toString(16)} vs ${sum.toString(16)}, mean ${ours[1].toString(16)} vs ${mean.toString(16)}`);
      });
      expect(mismatches).toEqual([]);
      // the test can tell: a float64 sum rounded once misses some of these means
      expect(float64Misses).toBeGreaterThan(0);
    });
  }
  // LORALAB_WRITE_TORCH_FIXTURE=1 rewrites the committed results that test/quant/torchSum.test.ts checks without torch
  afterAll(() => {
    if (process.env.LORALAB_WRITE_TORCH_FIXTURE === '1' && fixture.length === 2) {
      writeFileSync(join(import.meta.dirname, '..', 'fixtures', 'torch_mean.json'), `${JSON.stringify({ generator: 'test/bench/torchMean.test.ts', torch: 'python3-torch 1.13 (Debian), CPU', vectors: 'test/helpers/absmaxVectors.ts', cases: fixture })}\n`);
    }
  });
});
