// Merges and saved adapters that match PEFT: a safe merge checks W + ΔW in the dtype it will be saved in, names the
// layer and says Inf or NaN; adapter_config.json records the base model as PEFT's save_pretrained does.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from 'loralab/backend';
import { loadGemma } from 'loralab/models/gemma';
import { getPeftModel, MergeError } from 'loralab/peft';
import { LoraLinear } from 'loralab/layers';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'gemma-tiny');
const Q = 'model.layers.0.self_attn.q_proj';

beforeAll(async () => {
  await initBackend({ log: false });
});

/** A q_proj adapter whose ΔW[0, 0] = scaling · B[0,0] · A[0,0] = 2 · 1.7e19 · 1e19 = 3.4e38 (r 1, alpha 2). */
function overflowing(a00 = 1e19, b00 = 1.7e19) {
  const { model } = loadGemma(DIR, { tokenizer: false, dtype: 'float32' });
  const peft = getPeftModel(model, { r: 1, loraAlpha: 2, targetModules: ['q_proj'] });
  const l = peft.loraLayers.get(Q) as LoraLinear;
  const set = (v: tf.Variable, x: number) => {
    const values = new Float32Array(v.size);
    values[0] = x;
    v.assign(tf.tensor(values, v.shape));
  };
  set(l.loraA as tf.Variable, a00);
  set(l.loraB as tf.Variable, b00);
  return { peft, l, model };
}

describe('safe merge: finite after the cast to the output dtype', () => {
  it('ΔW = 3.4e38 is finite in float32 but Inf in bfloat16: refused, naming the layer and Inf', () => {
    const { peft, l } = overflowing();
    expect(l.getDeltaWeight()[0]).toBeCloseTo(3.4e38, -36);
    expect(() => peft.mergeAndUnload({ safeMerge: true, dtype: 'bfloat16' })).toThrow(MergeError);
    expect(() => peft.mergeAndUnload({ safeMerge: true, dtype: 'bfloat16' })).toThrow(
      /safe merge refused: layer 'model\.layers\.0\.self_attn\.q_proj': W \+ ΔW is Inf at \[0, 0\] \(3\.4000e\+38 in float32, beyond bfloat16's largest finite value 3\.3895314e38\) once stored as bfloat16; 1 of \d+ values are not finite\. The adapter seems broken; no layer was merged/,
    );
    // nothing was merged: the adapters are still in place
    expect(peft.loraLayers.size).toBeGreaterThan(0);
    expect(l.merged).toBe(false);
    // in float32 the same merge is allowed
    const { peft: p32 } = overflowing();
    expect(() => p32.mergeAndUnload({ safeMerge: true, dtype: 'float32' })).not.toThrow();
  });
  it('says NaN for NaN and Inf for a float32 overflow, and the merge of every layer is checked before any', () => {
    const { peft: pNaN } = overflowing(NaN, 1);
    expect(() => pNaN.mergeAdapters({ safeMerge: true })).toThrow(/W \+ ΔW is NaN at \[0, 0\] once stored as float32/);
    const { peft: pInf } = overflowing(1e20, 1e20);
    expect(() => pInf.mergeAdapters({ safeMerge: true })).toThrow(/W \+ ΔW is Inf at \[0, 0\] \(already in float32\)/);
    for (const l of pInf.loraLayers.values()) expect(l.merged).toBe(false);
  });
});

describe('loralab merge --dtype bfloat16 (the built CLI)', () => {
  it('refuses the adapter whose merged weight is Inf in bfloat16, in one line naming the layer, and writes nothing', () => {
    const { peft } = overflowing();
    const dir = mkdtempSync(join(tmpdir(), 'loralab-parity-'));
    peft.saveAdapter(join(dir, 'adapter'));
    const CLI = join(import.meta.dirname, '..', '..', 'lib', 'dist', 'cli', 'main.js');
    const r = spawnSync(process.execPath, [CLI, 'merge', '--model', DIR, '--adapter', join(dir, 'adapter'), '--out', join(dir, 'merged'), '--dtype', 'bfloat16'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr.split('\n').filter((l) => l.includes('error'))).toHaveLength(1);
    expect(r.stderr).toMatch(/^loralab: error: safe merge refused: layer 'model\.layers\.0\.self_attn\.q_proj': W \+ ΔW is Inf at \[0, 0\] .* once stored as bfloat16;/m);
    expect(existsSync(join(dir, 'merged', 'model.safetensors'))).toBe(false);
  });
});

describe('adapter_config.json: base_model_name_or_path as PEFT writes it', () => {
  it("is the folder the base model was loaded from (the model's name_or_path), not null", () => {
    const { model } = loadGemma(DIR, { tokenizer: false });
    const peft = getPeftModel(model, { r: 2, targetModules: ['q_proj'] });
    const dir = mkdtempSync(join(tmpdir(), 'loralab-parity-'));
    peft.saveAdapter(dir);
    expect(JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')).base_model_name_or_path).toBe(DIR);
  });
  it('an explicit baseModelNameOrPath wins, as in PEFT', () => {
    const { model } = loadGemma(DIR, { tokenizer: false });
    const peft = getPeftModel(model, { r: 2, targetModules: ['q_proj'], baseModelNameOrPath: 'google/gemma-2b' });
    const dir = mkdtempSync(join(tmpdir(), 'loralab-parity-'));
    peft.saveAdapter(dir);
    expect(JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')).base_model_name_or_path).toBe('google/gemma-2b');
  });
});
