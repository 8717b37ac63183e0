import { describe, expect, it, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from 'loralab/backend';
import { loadGemma } from 'loralab/models/gemma';
import {
  AdamW, BatchSampler, CheckpointStateError, DataError, IGNORE_INDEX, SQL_TEMPLATE, Trainer, TrainingDivergedError, buildExample, causalLmLoss, clipGradNorm,
  fusedHeadCausalLoss, generate, generateBatch, learningRate, padBatch, prepareMethod, readJsonl, sampleToken, latestCheckpoint, type Example,
} from 'loralab/train';
import { Rng } from '../../lib/src/util/rng.js';
import { Embedding } from 'loralab/layers';

const ROOT = join(import.meta.dirname, '..', '..');
const MODEL = join(ROOT, 'test', 'fixtures', 'gemma-tiny');
const CLI = join(ROOT, 'lib', 'dist', 'cli', 'main.js');
const SQL = join(ROOT, 'datasets', 'sql');
const tmp = () => mkdtempSync(join(tmpdir(), 'loralab-train-'));

beforeAll(async () => {
  await initBackend({ log: false });
});

function examples(n: number): Example[] {
  const { tokenizer } = loadGemma(MODEL);
  return readJsonl(join(SQL, 'train.jsonl'), ['question', 'sql'] as const).slice(0, n).map((r) => buildExample(tokenizer!, SQL_TEMPLATE, r, { maxLength: 64, eosId: 1 }));
}

describe('data', () => {
  it('JSONL errors name the file and line', () => {
    const d = tmp();
    const f = join(d, 'bad.jsonl');
    writeFileSync(f, '{"question": "a", "sql": "b"}\nnot json\n');
    expect(() => readJsonl(f, ['question', 'sql'])).toThrow(/bad\.jsonl:2: not valid JSON/);
    writeFileSync(f, '{"question": "a"}\n');
    expect(() => readJsonl(f, ['question', 'sql'])).toThrow(/bad\.jsonl:1: field 'sql' must be a string, got undefined/);
    expect(() => readJsonl(join(d, 'none.jsonl'), ['x'])).toThrow(DataError);
    expect(() => readJsonl(d, ['x'])).toThrow(new RegExp(`${d}: not a file \\(expected a JSONL file`));
  });
  it('a JSONL file that starts with a byte order mark reads as without it', () => {
    const f = join(tmp(), 'bom.jsonl');
    writeFileSync(f, '\uFEFF{"question": "a", "sql": "b"}\n');
    expect(readJsonl(f, ['question', 'sql'])).toEqual([{ question: 'a', sql: 'b' }]);
  });
  it('the prompt is masked: only the SQL and <eos> carry a loss', () => {
    const { tokenizer } = loadGemma(MODEL);
    const e = buildExample(tokenizer!, SQL_TEMPLATE, { question: 'How many stores?', sql: 'SELECT COUNT(*) FROM stores;' }, { maxLength: 200, eosId: 1 });
    const promptLen = tokenizer!.encode('Question: How many stores?\nSQL:').length;
    expect(e.inputIds[0]).toBe(2);
    expect(e.labels.slice(0, promptLen).every((l) => l === IGNORE_INDEX)).toBe(true);
    expect(e.labels.slice(promptLen)).toEqual(e.inputIds.slice(promptLen));
    expect(e.inputIds.at(-1)).toBe(1);
    expect(tokenizer!.decode(e.inputIds.slice(promptLen, -1))).toBe(' SELECT COUNT(*) FROM stores;');
    const b = padBatch([e, { inputIds: [2, 5], labels: [IGNORE_INDEX, 5] }], 0);
    expect(b.inputIds[1].length).toBe(e.inputIds.length);
    expect(b.attentionMask[1].slice(0, 3)).toEqual([1, 1, 0]);
    expect(b.labels[1].slice(2).every((l) => l === IGNORE_INDEX)).toBe(true);
  });
  it('the sampler is seeded, covers each epoch once, and restores its position', () => {
    const s = new BatchSampler(10, 3, 7);
    const first = [s.next(), s.next(), s.next()].flat();
    expect(new Set([...first, ...s.next()].slice(0, 10)).size).toBe(10);
    const a = new BatchSampler(10, 3, 7);
    a.next();
    const st = a.state();
    const want = [a.next(), a.next(), a.next()];
    const b = new BatchSampler(10, 3, 7);
    b.restore(st);
    expect([b.next(), b.next(), b.next()]).toEqual(want);
  });
});

describe('loss, optimizer, schedule', () => {
  it('masked causal LM loss equals the hand computation', () => {
    const logits = tf.tensor3d([[[1, 2, 3], [0, 0, 0], [3, 1, 0]]]);
    const loss = causalLmLoss(logits, [[IGNORE_INDEX, 2, 0]]).dataSync()[0];
    const lse = (xs: number[]) => Math.log(xs.reduce((s, x) => s + Math.exp(x), 0));
    const want = -((3 - lse([1, 2, 3])) + (0 - lse([0, 0, 0]))) / 2;
    expect(loss).toBeCloseTo(want, 5);
    expect(() => causalLmLoss(logits, [[1, IGNORE_INDEX, IGNORE_INDEX]])).toThrow(/no tokens to learn from/);
  });
  it('the fused head + loss equals logits-then-loss, in value and in the gradient reaching the hidden states', () => {
    const V = 50;
    const d = 8;
    const E = new Embedding(V, d, { f32: new Rng(2).normalArray(V * d, 0.5) });
    E.chunkRows = 16; // several chunks, the last one partial
    const h = tf.variable(tf.tensor3d(new Rng(3).normalArray(2 * 5 * d), [2, 5, d]));
    const labels = [[IGNORE_INDEX, 3, 49, 0, 7], [IGNORE_INDEX, IGNORE_INDEX, 20, 21, 1]];
    const fused = tf.variableGrads(() => fusedHeadCausalLoss(h, E, labels), [h]);
    const plain = tf.variableGrads(() => causalLmLoss(E.project(h) as tf.Tensor3D, labels), [h]);
    expect(fused.value.dataSync()[0]).toBeCloseTo(plain.value.dataSync()[0], 5);
    const a = fused.grads[h.name].dataSync();
    const b = plain.grads[h.name].dataSync();
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 5);
  });
  it('AdamW with decoupled weight decay matches two steps computed by hand', () => {
    const p = tf.variable(tf.tensor1d([1, -2]));
    const opt = new AdamW(new Map([['p', p]]), { weightDecay: 0.1 });
    let m = [0, 0];
    let v = [0, 0];
    let want = [1, -2];
    const lr = 0.01;
    for (const [t, g] of [[1, [0.5, -1]], [2, [0.25, 2]]] as const) {
      opt.step(new Map([['p', tf.tensor1d(g as unknown as number[])]]), lr);
      m = m.map((x, i) => 0.9 * x + 0.1 * g[i]);
      v = v.map((x, i) => 0.999 * x + 0.001 * g[i] ** 2);
      want = want.map((w, i) => w * (1 - lr * 0.1) - (lr * (m[i] / (1 - 0.9 ** t))) / (Math.sqrt(v[i] / (1 - 0.999 ** t)) + 1e-8));
    }
    const got = p.dataSync();
    expect(got[0]).toBeCloseTo(want[0], 6);
    expect(got[1]).toBeCloseTo(want[1], 6);
  });
  it('clipping by global norm, and warmup + cosine/linear/constant schedules', () => {
    const { norm, clipped } = clipGradNorm(new Map([['a', tf.tensor1d([3, 0])], ['b', tf.tensor1d([0, 4])]]), 1);
    expect(norm).toBeCloseTo(5, 6);
    expect(Array.from(clipped.get('a')!.dataSync())[0]).toBeCloseTo(0.6, 5);
    const o = { lr: 1, warmupSteps: 10, totalSteps: 110 };
    expect(learningRate(0, { ...o, schedule: 'cosine' })).toBeCloseTo(0.1);
    expect(learningRate(9, { ...o, schedule: 'cosine' })).toBe(1);
    expect(learningRate(60, { ...o, schedule: 'cosine' })).toBeCloseTo(0.5);
    expect(learningRate(110, { ...o, schedule: 'cosine' })).toBeCloseTo(0);
    expect(learningRate(60, { ...o, schedule: 'linear' })).toBeCloseTo(0.5);
    expect(learningRate(100, { ...o, schedule: 'constant' })).toBe(1);
  });
});

describe('Trainer', () => {
  const opts = (outDir: string) => ({ steps: 8, lr: 5e-3, batchSize: 2, saveEvery: 3, seed: 3, outDir, maxGradNorm: 1 });
  const make = () => {
    const { model } = loadGemma(MODEL, { tokenizer: false });
    const prepared = prepareMethod(model, 'lora', { r: 2, loraDropout: 0.1, seed: 5 });
    return { model, prepared };
  };
  it('a crashed run resumed from its last checkpoint continues the same loss curve', () => {
    const data = examples(24);
    const dirA = tmp();
    const a = make();
    const full = new Trainer(a.model, a.prepared.trainable, data, null, opts(dirA), 0).run().map((r) => r.loss);
    const dirB = tmp();
    const b = make();
    expect(() =>
      new Trainer(b.model, b.prepared.trainable, data, null, opts(dirB), 0).run({
        onStep: (m) => {
          if (m.step === 5) throw new Error('simulated crash');
        },
      }),
    ).toThrow(/simulated crash/);
    expect(readFileSync(join(dirB, 'latest'), 'utf8').trim()).toBe('checkpoint-000003');
    const c = make();
    const resumed = new Trainer(c.model, c.prepared.trainable, data, null, { ...opts(dirB), resume: true }, 0);
    const recs = resumed.run().map((r) => r.loss);
    expect(recs).toEqual(full);
    const lines = readFileSync(join(dirB, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).loss);
    expect(lines).toEqual(full);
  });
  it('a run killed before its first checkpoint and resumed starts its metrics over (no duplicated records)', () => {
    const data = examples(24);
    const dir = tmp();
    const a = make();
    expect(() =>
      new Trainer(a.model, a.prepared.trainable, data, null, opts(dir), 0).run({
        onStep: (m) => {
          if (m.step === 2) throw new Error('killed before the first checkpoint');
        },
      }),
    ).toThrow(/killed/);
    expect(existsSync(join(dir, 'latest'))).toBe(false);
    const b = make();
    const recs = new Trainer(b.model, b.prepared.trainable, data, null, { ...opts(dir), resume: true }, 0).run();
    const steps = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
    expect(steps).toEqual(recs.map((r) => r.step));
    expect(steps).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
  it('a damaged trainer_state.json is refused before anything is restored, naming the file and the field', () => {
    const data = examples(24);
    const dir = tmp();
    const a = make();
    new Trainer(a.model, a.prepared.trainable, data, null, { ...opts(dir), steps: 3 }, 0).run();
    const statePath = join(dir, 'checkpoint-000003', 'trainer_state.json');
    const good = JSON.parse(readFileSync(statePath, 'utf8')) as Record<string, unknown>;
    const cases: [string, RegExp][] = [
      ['{"step": 3, "optim', /trainer_state\.json: not valid JSON/],
      [JSON.stringify({ ...good, sampler: undefined }), /trainer_state\.json: 'sampler' must be an object/],
      [JSON.stringify({ ...good, step: 'x' }), /trainer_state\.json: 'step' must be a non-negative integer \(got "x"\)/],
      [JSON.stringify({ ...good, step: 999 }), /trainer_state\.json: 'step' is 999, beyond this run's 8 steps/],
      [JSON.stringify({ ...good, sampler: { epoch: 0, pos: 1e6 } }), /'sampler\.pos' is 1000000, beyond the 24 training examples/],
    ];
    for (const [text, message] of cases) {
      writeFileSync(statePath, text);
      const b = make();
      const t = new Trainer(b.model, b.prepared.trainable, data, null, { ...opts(dir), resume: true }, 0);
      expect(() => t.run()).toThrow(CheckpointStateError);
      expect(() => t.resume()).toThrow(message);
      expect(t.step).toBe(0);
    }
  });
  it('a NaN loss stops before the update and leaves the last good checkpoint intact', () => {
    const data = examples(8);
    const dir = tmp();
    const { model, prepared } = make();
    const t = new Trainer(model, prepared.trainable, data, null, { ...opts(dir), saveEvery: 2 }, 0);
    const norm = [...model.namedParameters()].find((p) => p.name === 'model.norm.weight')!.variable!;
    let err: Error | null = null;
    try {
      t.run({ onStep: (m) => { if (m.step === 2) norm.assign(tf.fill([64], NaN)); } });
    } catch (e) {
      err = e as Error;
    }
    expect(err).toBeInstanceOf(TrainingDivergedError);
    expect(err!.message).toMatch(/loss is NaN at step 3 .*Last good checkpoint: .*checkpoint-000002/);
    expect(t.step).toBe(2);
    expect(latestCheckpoint(dir)).toMatch(/checkpoint-000002$/);
    expect(readdirSync(join(dir, 'checkpoint-000002')).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors', 'optimizer.safetensors', 'trainer_state.json']);
  });
  it('every method trains through the same loop and lowers the loss', () => {
    const data = examples(16);
    for (const method of ['full', 'adapter', 'prefix', 'lora'] as const) {
      const { model } = loadGemma(MODEL, { tokenizer: false, dtype: 'float32' });
      const p = prepareMethod(model, method, { r: 4, seed: 1 });
      const recs = new Trainer(model, p.trainable, data, data.slice(0, 4), { steps: 6, lr: method === 'full' ? 2e-3 : 1e-2, batchSize: 4, evalEvery: 6, outDir: tmp() }, 0).run();
      expect(recs.at(-1)!.loss, method).toBeLessThan(recs[0].loss);
      expect(recs.at(-1)!.evalLoss, method).toBeGreaterThan(0);
    }
  });
});

describe('generation', () => {
  it('greedy is deterministic; sampling respects top-p', () => {
    const { model } = loadGemma(MODEL, { tokenizer: false });
    const a = generate(model, [2, 10, 11], { maxNewTokens: 5 });
    expect(a).toEqual(generate(model, [2, 10, 11], { maxNewTokens: 5 }));
    expect(a.length).toBeLessThanOrEqual(5);
    const logits = Float32Array.from([0, 10, 0, 9.9]);
    const rng = new Rng(1);
    const picks = new Set(Array.from({ length: 50 }, () => sampleToken(logits, { temperature: 1, topP: 0.5, rng })));
    expect(picks).toEqual(new Set([1]));
    const both = new Set(Array.from({ length: 200 }, () => sampleToken(logits, { temperature: 1, topP: 0.99, rng })));
    expect(both).toEqual(new Set([1, 3]));
  });
});

describe('batched generation', () => {
  it('decodes each right-padded prompt exactly as generate does alone (prompts of different lengths, early <eos>)', () => {
    const { model } = loadGemma(MODEL, { tokenizer: false });
    const prompts = [[2, 10, 11], [2, 40, 41, 42, 43, 44, 45], [2, 7], [2, 90, 91, 92]];
    for (const eosId of [model.config.eosTokenId, generate(model, prompts[0], { maxNewTokens: 3 })[2]]) {
      const alone = prompts.map((p) => generate(model, p, { maxNewTokens: 6, eosId }));
      expect(generateBatch(model, prompts, { maxNewTokens: 6, eosId })).toEqual(alone);
    }
  });
});

describe('loralab train / eval / generate (CLI)', () => {
  const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  it('a run killed mid-training resumes with --resume and ends with the same adapter as an uninterrupted run', async () => {
    const args = (out: string) => ['train', '--model', MODEL, '--data', join(SQL, 'train.jsonl'), '--out', out, '--steps', '16', '--save-every', '2', '--batch-size', '2', '--lr', '5e-3', '--seed', '1', '--lora-dropout', '0.1'];
    const ref = tmp();
    expect(run(args(ref)).status).toBe(0);
    const out = tmp();
    const child = spawn(process.execPath, [CLI, ...args(out)], { stdio: 'ignore' });
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        const m = join(out, 'metrics.jsonl');
        if (existsSync(m) && readFileSync(m, 'utf8').split('\n').length > 7) {
          clearInterval(poll);
          child.kill('SIGKILL');
          resolve();
        }
      }, 5);
    });
    await new Promise((r) => child.once('exit', r));
    // what a kill during a checkpoint write leaves behind: a half-written folder that `latest` does not name
    mkdirSync(join(out, 'checkpoint-000099.tmp-12345'));
    writeFileSync(join(out, 'checkpoint-000099.tmp-12345', 'adapter_model.safetensors'), 'partial');
    const r = run([...args(out), '--resume']);
    expect(r.stderr).toMatch(/resumed from step \d+/);
    expect(r.status).toBe(0);
    expect(readFileSync(join(out, 'adapter', 'adapter_model.safetensors'))).toEqual(readFileSync(join(ref, 'adapter', 'adapter_model.safetensors')));
    expect(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(16);
    expect(existsSync(join(out, 'checkpoint-000099.tmp-12345'))).toBe(false);
  });
  it('eval grades generated SQL in SQLite and writes a per-example report', () => {
    const d = tmp();
    const r = run(['eval', '--model', MODEL, '--data', join(SQL, 'test.jsonl'), '--db', SQL, '--limit', '3', '--max-new-tokens', '8', '--report', join(d, 'r.json')]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/execution accuracy \d+\.\d% \| exact match \d+\.\d% \| invalid SQL \d\/3/);
    const rep = JSON.parse(readFileSync(join(d, 'r.json'), 'utf8'));
    expect(rep.examples).toHaveLength(3);
    expect(rep.examples[0]).toHaveProperty('predicted');
  });
  it('adapters and prefixes trained by the CLI load back in eval and generate through --trainable', () => {
    for (const method of ['adapter', 'prefix']) {
      const out = tmp();
      const t = run(['train', '--model', MODEL, '--data', join(SQL, 'train.jsonl'), '--out', out, '--method', method, '--r', '4', '--steps', '2', '--batch-size', '2', '--eval-every', '0', '--save-every', '0']);
      expect(t.status, t.stderr).toBe(0);
      expect(JSON.parse(readFileSync(join(out, 'trainable', 'method.json'), 'utf8'))).toEqual({ method, r: 4 });
      const g = run(['generate', '--model', MODEL, '--trainable', join(out, 'trainable'), '--prompt', 'Question: How many stores?\\nSQL:', '--max-new-tokens', '3']);
      expect(g.status, g.stderr).toBe(0);
      const e = run(['eval', '--model', MODEL, '--trainable', join(out, 'trainable'), '--data', join(SQL, 'test.jsonl'), '--db', SQL, '--limit', '2', '--max-new-tokens', '4', '--report', join(out, 'r.json')]);
      expect(e.status, e.stderr).toBe(0);
    }
    const bad = run(['eval', '--model', MODEL, '--trainable', tmp(), '--data', join(SQL, 'test.jsonl'), '--db', SQL, '--limit', '1']);
    expect(bad.stderr).toMatch(/no method\.json \(expected the 'trainable' folder/);
  });
  it('GEMMA_2B_DIR is all the real model needs: train, eval and generate default --model to it', () => {
    // the fixture is a Hugging Face Gemma folder (config.json, model.safetensors, tokenizer.json) like google/gemma-2b
    const withDir = (args: string[], dir?: string) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, GEMMA_2B_DIR: dir ?? '' } });
    const out = tmp();
    const t = withDir(['train', '--data', join(SQL, 'train.jsonl'), '--out', out, '--method', 'qlora', '--steps', '2', '--batch-size', '2', '--eval-every', '0', '--save-every', '0'], MODEL);
    expect(t.status, t.stderr).toBe(0);
    expect(existsSync(join(out, 'adapter', 'adapter_config.json'))).toBe(true);
    const g = withDir(['generate', '--adapter', join(out, 'adapter'), '--load-in-4bit', '--prompt', 'Question: How many stores?\\nSQL:', '--max-new-tokens', '3'], MODEL);
    expect(g.status, g.stderr).toBe(0);
    const e = withDir(['eval', '--adapter', join(out, 'adapter'), '--load-in-4bit', '--data', join(SQL, 'test.jsonl'), '--db', SQL, '--limit', '2', '--max-new-tokens', '4', '--report', join(out, 'r.json')], MODEL);
    expect(e.status, e.stderr).toBe(0);
    const none = spawnSync(process.execPath, [CLI, 'generate', '--prompt', 'x'], { encoding: 'utf8', env: Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'GEMMA_2B_DIR')) });
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/--model is required \(or set GEMMA_2B_DIR to a downloaded google\/gemma-2b folder\)/);
  });
  it('generate prints a continuation; bad flags fail clearly', () => {
    const r = run(['generate', '--model', MODEL, '--prompt', 'Question: How many stores?\\nSQL:', '--max-new-tokens', '4']);
    expect(r.status).toBe(0);
    expect(run(['train', '--model', MODEL, '--data', join(SQL, 'train.jsonl'), '--out', tmp(), '--method', 'dora']).stderr).toMatch(/--method must be one of lora, qlora, full, adapter, prefix/);
    expect(run(['train', '--model', MODEL, '--data', join(SQL, 'nope.jsonl'), '--out', tmp()]).stderr).toMatch(/nope\.jsonl: no such file/);
    expect(run(['train', '--model', MODEL, '--data', join(SQL, 'train.jsonl'), '--out', tmp(), '--steps', '0']).stderr).toMatch(/--steps must be an integer >= 1/);
  });
});

describe('gradient checkpointing', () => {
  it('gives the same loss and the same gradients as the plain backward pass (LoRA and full fine-tuning)', () => {
    const batch = padBatch(examples(3), 0);
    for (const method of ['lora', 'full'] as const) {
      const { model } = loadGemma(MODEL, { tokenizer: false, dtype: 'float32' });
      const p = prepareMethod(model, method, { r: 2, seed: 1 });
      if (method === 'lora') for (const l of p.peft!.loraLayers.values()) l.loraB.assign(tf.randomNormal(l.loraB.shape, 0, 0.2, 'float32', 4));
      const t = new Trainer(model, p.trainable, examples(3), null, { steps: 1, lr: 1e-3, batchSize: 3, outDir: tmp() }, 0);
      const vars = [...p.trainable.params.values()];
      const plain = t.valueAndGrads(batch, vars);
      model.model.gradientCheckpointing = true;
      const ckpt = t.valueAndGrads(batch, vars);
      expect(ckpt.value).toBeCloseTo(plain.value, 5);
      expect(ckpt.grads.size).toBe(vars.length);
      for (const v of vars) {
        const a = plain.grads.get(v)!.dataSync();
        const b = ckpt.grads.get(v)!.dataSync();
        let maxDiff = 0;
        let maxAbs = 0;
        for (let i = 0; i < a.length; i++) {
          maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
          maxAbs = Math.max(maxAbs, Math.abs(a[i]));
        }
        expect(maxDiff, `${method} ${v.name}`).toBeLessThanOrEqual(1e-5 * Math.max(1, maxAbs));
      }
    }
  });
});
