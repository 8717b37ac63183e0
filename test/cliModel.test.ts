/** loralab logits / merge / params, run as a user runs them. */
import { describe, expect, it, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsReader, serialize } from 'loralab/io';
import { floatTensor, toFloat32 } from 'loralab/quant';
import { loadGemma } from 'loralab/models/gemma';
import { loadPeftAdapter } from 'loralab/peft';
import { initBackend } from 'loralab/backend';
import { Rng } from '../lib/src/util/rng.js';
import { relRms } from './helpers/metrics.js';

const CLI = join(import.meta.dirname, '..', 'lib', 'dist', 'cli', 'main.js');
const MODEL = join(import.meta.dirname, 'fixtures', 'gemma-tiny');
const run = (args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
let dir: string;
let adapter: string;

beforeAll(async () => {
  await initBackend({ log: false });
  dir = mkdtempSync(join(tmpdir(), 'loralab-clim-'));
  adapter = join(dir, 'adapter');
  mkdirSync(adapter);
  const rng = new Rng(1);
  const t: Record<string, ReturnType<typeof floatTensor>> = {};
  for (let L = 0; L < 2; L++) {
    t[`base_model.model.model.layers.${L}.self_attn.q_proj.lora_A.weight`] = floatTensor(rng.normalArray(2 * 64, 0.2), [2, 64]);
    t[`base_model.model.model.layers.${L}.self_attn.q_proj.lora_B.weight`] = floatTensor(rng.normalArray(64 * 2, 0.2), [64, 2]);
  }
  writeFileSync(join(adapter, 'adapter_model.safetensors'), serialize(t, { format: 'pt' }));
  writeFileSync(join(adapter, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: 2, lora_alpha: 4, target_modules: ['q_proj'], task_type: 'CAUSAL_LM' }));
});

describe('loralab logits', () => {
  it('writes one F32 tensor "logits" [n, vocab] equal to the library forward (no bos added)', () => {
    const out = join(dir, 'l.safetensors');
    const r = run(['logits', '--model', MODEL, '--adapter', adapter, '--ids', '2,51,12', '--out', out]);
    expect(r.err).toMatch(/TF\.js backend/);
    expect(r.code).toBe(0);
    const rd = SafetensorsReader.open(out);
    expect(rd.names()).toEqual(['logits']);
    expect(rd.info('logits')).toMatchObject({ dtype: 'F32', shape: [3, 384] });
    const got = toFloat32(rd.read('logits'));
    const peft = loadPeftAdapter(loadGemma(MODEL, { tokenizer: false }).model, adapter);
    expect(Array.from(got)).toEqual(Array.from(peft.baseModel.logits([2, 51, 12])));
  });
  it('--load-in-4bit gives logits close to the dense ones', () => {
    const a = join(dir, 'a.safetensors');
    const b = join(dir, 'b.safetensors');
    expect(run(['logits', '--model', MODEL, '--ids', '2,3,4', '--out', a]).code).toBe(0);
    expect(run(['logits', '--model', MODEL, '--ids', '2,3,4', '--out', b, '--load-in-4bit']).code).toBe(0);
    const err = relRms(toFloat32(SafetensorsReader.open(a).read('logits')), toFloat32(SafetensorsReader.open(b).read('logits')));
    expect(err).toBeGreaterThan(0);
    expect(err).toBeLessThan(0.25);
  });
  it('clear errors for bad ids and missing folders', () => {
    const bad = run(['logits', '--model', MODEL, '--ids', '2,999', '--out', join(dir, 'x.safetensors')]);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/token id 999 is outside the vocabulary \(vocab_size 384\)/);
    expect(run(['logits', '--model', MODEL, '--ids', 'a,b', '--out', 'x']).err).toMatch(/--ids must be comma-separated/);
    expect(run(['logits', '--model', join(dir, 'none'), '--ids', '2', '--out', 'x']).err).toMatch(/no such directory/);
    const noCfg = join(dir, 'empty');
    mkdirSync(noCfg);
    expect(run(['logits', '--model', noCfg, '--ids', '2', '--out', 'x']).err).toMatch(/no config\.json/);
  });
});

describe('loralab merge', () => {
  it('writes a Hugging Face folder whose logits equal the adapter model', () => {
    const out = join(dir, 'merged');
    const r = run(['merge', '--model', MODEL, '--adapter', adapter, '--out', out, '--dtype', 'float32']);
    expect(r.err.split('\n').filter((l) => l && !l.includes('TF.js backend'))).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/merged 2 LoRA layers \(r=2, alpha=4\)/);
    const merged = loadGemma(out).model.logits([2, 7, 8]);
    const peft = loadPeftAdapter(loadGemma(MODEL, { tokenizer: false, dtype: 'float32' }).model, adapter);
    const want = peft.baseModel.logits([2, 7, 8]);
    for (let i = 0; i < want.length; i++) expect(merged[i]).toBeCloseTo(want[i], 4);
  });
});

describe('loralab params', () => {
  it('gemma-2b, r=8 on q,k,v,o', () => {
    const r = run(['params', '--model', 'gemma-2b', '--r', '8', '--target-modules', 'q_proj,k_proj,v_proj,o_proj']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/lora\s+r=8, targets q_proj,k_proj,v_proj,o_proj\s+2,508,015,616\s+1,843,200\s+0\.0735/);
    expect(r.out).toMatch(/full\s+every weight\s+2,506,172,416\s+2,506,172,416\s+100\.0000/);
  });
  it('llama-7b at r=1 and r=4, JSON output, and a model folder', () => {
    const j1 = JSON.parse(run(['params', '--model', 'llama-7b', '--r', '1', '--json']).out);
    const j4 = JSON.parse(run(['params', '--model', 'llama-7b', '--r', '4', '--json']).out);
    expect(j1[1].trainable).toBe(524_288);
    expect(j4[1].trainable).toBe(2_097_152);
    expect(j1[0].total).toBe(6_738_415_616);
    const f = JSON.parse(run(['params', '--model', MODEL, '--target-modules', 'all-linear', '--r', '2', '--json']).out);
    expect(f[1].trainable).toBe(2 * 2 * (128 + 80 + 80 + 128 + 192 + 192 + 192));
    expect(run(['params', '--model', 'gpt-9', '--r', '2']).err).toMatch(/neither a model folder nor one of gemma-2b, llama-7b/);
    expect(run(['params', '--model', 'gemma-2b', '--r', '0']).err).toMatch(/--r must be an integer >= 1 \(got '0'\)/);
  });
  it("prints the target modules it used: PEFT's default for Gemma (q_proj, v_proj) unless given", () => {
    const d = run(['params', '--model', 'gemma-2b']);
    expect(d.code).toBe(0);
    expect(d.out).toContain("target modules: q_proj, v_proj (PEFT's default for Gemma)");
    expect(d.out).toMatch(/lora\s+r=8, targets q_proj,v_proj\s+[\d,]+\s+921,600\s/); // 18 layers × 8·((2048+2048) + (2048+256))
    expect(run(['params', '--model', 'gemma-2b', '--target-modules', 'q_proj,k_proj']).out).toMatch(/target modules: q_proj, k_proj\n/);
    expect(run(['params', '--model', MODEL, '--target-modules', 'all-linear']).out).toContain('target modules: all-linear = q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj');
    const re = run(['params', '--model', 'gemma-2b', '--target-modules', '.*\\.(q|v)_proj']); // PEFT's string form: a regex on the whole path
    expect(re.out).toContain("target modules: regex '.*\\.(q|v)_proj' = q_proj, v_proj");
    expect(re.out).toMatch(/lora\s+r=8, targets .*\s+921,600\s/);
    expect(run(['params', '--model', 'gemma-2b', '--target-modules', '(q']).err).toBe("loralab: error: --target-modules (q: target pattern '(q' is not a valid regular expression\n");
    expect(run(['params', '--help']).out).toMatch(/--target-modules <list>[\s\S]*default:\s+q_proj,v_proj,\s+PEFT's\s+default\s+for\s+Gemma/);
  });
  it('refuses a target module the model does not have, naming the ones it has (named shapes and model folders)', () => {
    const layers = 'its linear layers are q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj. Please check the target modules and try again.';
    for (const model of ['gemma-2b', 'llama-7b', MODEL]) {
      const r = run(['params', '--model', model, '--target-modules', 'q_proj,gate']);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toBe(`loralab: error: --target-modules q_proj,gate: target module 'gate' not found in the base model (did you mean gate_proj?); ${layers}\n`);
    }
    expect(run(['params', '--model', 'gemma-2b', '--target-modules', ',']).err).toMatch(/--target-modules must be comma-separated module names or 'all-linear' \(got ','\)/);
  });
});

describe('loralab train: target modules', () => {
  const SQL = join(import.meta.dirname, '..', 'datasets', 'sql');
  it('refuses an unknown target module before loading the model, and prints the default it trains with', () => {
    const bad = run(['train', '--model', MODEL, '--data', join(SQL, 'train.jsonl'), '--out', join(dir, 'never'), '--target-modules', 'q_proj,gate']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^loralab: error: --target-modules q_proj,gate: target module 'gate' not found in the base model \(did you mean gate_proj\?\); its linear layers are q_proj, k_proj/);
    expect(bad.err).not.toMatch(/TF\.js backend/); // refused before the backend and the weights
    const out = join(dir, 'default-targets');
    const t = run(['train', '--model', MODEL, '--data', join(SQL, 'train.jsonl'), '--out', out, '--steps', '1', '--batch-size', '2', '--eval-every', '0', '--save-every', '0']);
    expect(t.code, t.err).toBe(0);
    expect(t.err).toContain("lora target modules: q_proj, v_proj (PEFT's default for Gemma)");
    expect(JSON.parse(readFileSync(join(out, 'adapter', 'adapter_config.json'), 'utf8')).target_modules).toEqual(['q_proj', 'v_proj']);
  });

  it("trains with the recipe's lora_alpha = 2r when none is given, and prints the r and alpha it used", () => {
    const out = join(dir, 'default-alpha');
    const t = run(['train', '--model', MODEL, '--data', join(SQL, 'train.jsonl'), '--out', out, '--r', '4', '--steps', '1', '--batch-size', '2', '--eval-every', '0', '--save-every', '0']);
    expect(t.code, t.err).toBe(0);
    expect(t.err).toMatch(/^lora: [\d,]+ trainable parameters \(r 4, lora_alpha 8\);/m);
    const cfg = JSON.parse(readFileSync(join(out, 'adapter', 'adapter_config.json'), 'utf8')) as { r: number; lora_alpha: number };
    expect([cfg.r, cfg.lora_alpha]).toEqual([4, 8]);
  });
});

describe('loralab train and eval: every option is checked before any output exists', () => {
  const SQL = join(import.meta.dirname, '..', 'datasets', 'sql');
  const train = (extra: string[], out: string) => run(['train', '--model', MODEL, '--data', join(SQL, 'train.jsonl'), '--out', out, ...extra]);
  it.each([
    [['--lr', 'NaN'], /--lr must be a number > 0 \(got 'NaN'\)/],
    [['--lr', '0'], /--lr must be a number > 0 \(got '0'\)/],
    [['--batch-size', '0'], /--batch-size must be an integer >= 1 \(got '0'\)/],
    [['--grad-accum', '0'], /--grad-accum must be an integer >= 1 \(got '0'\)/],
    [['--warmup-steps', '-1'], /--warmup-steps must be an integer >= 0 \(got '-1'\)/],
    [['--lora-alpha', '-16'], /--lora-alpha must be a number > 0 \(got '-16'\)/],
  ])('train %j is refused and --out is not created', (extra, message) => {
    const out = join(dir, `never-${extra.join('')}`);
    const r = train(extra, out);
    expect(r.code).toBe(2);
    expect(r.err.trim()).toMatch(new RegExp(`^loralab: error: ${message.source}$`));
    expect(existsSync(out)).toBe(false);
  });
  it('train --out naming a file is refused', () => {
    const f = join(dir, 'a-file');
    writeFileSync(f, 'x');
    expect(train([], f).err).toMatch(/^loralab: error: --out .*a-file: is a file \(expected a folder to write into\)/);
  });
  it('eval --report into a folder that does not exist fails at once, before generating', () => {
    const report = join(dir, 'missing-folder', 'report.json');
    const t0 = Date.now();
    const r = run(['eval', '--model', MODEL, '--data', join(SQL, 'test.jsonl'), '--db', SQL, '--report', report]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^loralab: error: --report .*report\.json: the folder .*missing-folder does not exist/);
    expect(r.err).not.toMatch(/generated|TF\.js backend/);
    expect(Date.now() - t0).toBeLessThan(30_000);
  });
  it.each([
    [['--batch-size', '0'], /--batch-size must be an integer >= 1 \(got '0'\)/],
    [['--max-new-tokens', '0'], /--max-new-tokens must be an integer >= 1 \(got '0'\)/],
    [['--limit', 'x'], /--limit must be an integer >= 1 \(got 'x'\)/],
    [['--adapter', MODEL, '--trainable', MODEL], /give --adapter \(a LoRA\) or --trainable \(adapters or prefixes\), not both/],
  ])('eval %j is refused before the model loads and no report is written', (extra, message) => {
    const report = join(dir, `never-${extra.join('')}.json`.replace(/[^\w.-]/g, '_'));
    const r = run(['eval', '--model', MODEL, '--data', join(SQL, 'test.jsonl'), '--db', SQL, '--report', report, ...extra]);
    expect(r.code).toBe(2);
    expect(r.err.trim()).toMatch(new RegExp(`^loralab: error: ${message.source}$`));
    expect(r.err).not.toMatch(/TF\.js backend/);
    expect(existsSync(report)).toBe(false);
  });
  it('demo --seed that is not an integer is refused before the demo folder is made', () => {
    const out = join(dir, 'demo-never');
    const r = run(['demo', '--dir', out, '--seed', 'abc']);
    expect(r.code).toBe(2);
    expect(r.err.trim()).toBe("loralab: error: --seed must be an integer >= 0 (got 'abc')");
    expect(existsSync(out)).toBe(false);
  });
});
