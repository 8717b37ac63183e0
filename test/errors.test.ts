/**
 * LoRA Lab's one error style (lib/src/util/errors.ts): every error is a LoraLabError whose message is
 * `<file>: <field>: <problem>; expected <expected>`, with the same parts readable as fields.
 *
 * 1. No plain `Error` (nor RangeError/TypeError) is made anywhere in lib/src, and every `*Error` class declared there
 *    descends from LoraLabError; every `*Error` a public entry point exports is one at run time.
 * 2. A few user errors, converted from plain `Error`, with their message and fields: a wrong input shape to Linear and
 *    Embedding, the LoRA rank from LoraLinear, LoraConfig and adapter_config.json, a loss with mismatched labels.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import * as tf from '@tensorflow/tfjs';
import { ArgumentError, InternalError, LoraLabError, PeftConfigError, SafetensorsError, SafetensorsReader, ShapeError, loraConfig } from 'loralab';
import { initBackend } from 'loralab/backend';
import { Embedding, Linear, LoraLinear } from 'loralab/layers';
import { parseAdapterConfig } from 'loralab/peft';
import { DataError, causalLmLoss, fusedHeadCausalLoss } from 'loralab/train';
import { CheckpointWeights, FileReadError, SafetensorsWriteError, serialize, toFloat32 } from 'loralab/io';
import { ConfigError, GEMMA_2B_CONFIG_JSON, parseGemmaConfig } from 'loralab/models/gemma';
import { BnbFormatError, packQuantState, quantizeNF4, unpackQuantState } from 'loralab/quant';
import { assertInternal, errorMessage } from '../lib/src/util/errors.js';

const root = join(import.meta.dirname, '..');
const src = join(root, 'lib', 'src');

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return walk(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** `file:line: text` for every place a text makes a plain Error, RangeError or TypeError. */
export function plainErrors(where: string, text: string): string[] {
  const plain = /\b(?:new\s+|throw\s+)(?:Error|RangeError|TypeError)\s*\(/;
  return text.split('\n').flatMap((line, i) => (plain.test(line) ? [`${where}:${i + 1}: ${line.trim()}`] : []));
}

/** Each `class <Name>Error extends <Base>` declared in a source text. */
function errorClasses(where: string, text: string): { name: string; base: string | null; where: string }[] {
  const sf = ts.createSourceFile(where, text, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const out: { name: string; base: string | null; where: string }[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isClassDeclaration(node) && node.name && /Error$/.test(node.name.text)) {
      const ext = node.heritageClauses?.find((h) => h.token === ts.SyntaxKind.ExtendsKeyword)?.types[0];
      out.push({ name: node.name.text, base: ext ? ext.expression.getText(sf) : null, where });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

describe('one error style in lib/src', () => {
  const files = walk(src).map((f) => ({ where: relative(root, f), text: readFileSync(f, 'utf8') }));

  it('makes no plain Error, RangeError or TypeError', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(files.flatMap((f) => plainErrors(f.where, f.text))).toEqual([]);
  });

  it('the scan flags a plain Error and passes a LoraLabError', () => {
    expect(plainErrors('a.ts', "  if (x) throw new Error('bad');\nreject(new RangeError(m));\nthrow Error('x');")).toEqual([
      "a.ts:1: if (x) throw new Error('bad');",
      'a.ts:2: reject(new RangeError(m));',
      "a.ts:3: throw Error('x');",
    ]);
    expect(plainErrors('b.ts', "throw new ShapeError('bad', { field: 'x' });\nthrow new LoraLabError('x');\nclass SqlTaskError extends LoraLabError {}")).toEqual([]);
  });

  it('declares every *Error class as a descendant of LoraLabError', () => {
    const classes = files.flatMap((f) => errorClasses(f.where, f.text));
    expect(classes.length).toBeGreaterThan(15);
    const baseOf = new Map(classes.map((c) => [c.name, c.base]));
    const reaches = (name: string, seen = new Set<string>()): boolean => {
      if (name === 'LoraLabError') return true;
      const base = baseOf.get(name);
      if (!base || seen.has(name)) return false;
      seen.add(name);
      return reaches(base, seen);
    };
    const stray = classes.filter((c) => c.name !== 'LoraLabError' && !reaches(c.name)).map((c) => `${c.where}: ${c.name} extends ${c.base}`);
    expect(stray).toEqual([]);
    expect(baseOf.get('LoraLabError')).toBe('Error');
  });

  it('exports from every public entry point only *Error classes that are LoraLabErrors', async () => {
    const pkg = JSON.parse(readFileSync(join(root, 'lib', 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
    const entries = Object.keys(pkg.exports)
      .filter((k) => k !== './package.json')
      .map((k) => join(src, k === '.' ? 'index.ts' : `${k.slice(2)}/index.ts`));
    const seen: string[] = [];
    const wrong: string[] = [];
    for (const entry of entries) {
      const mod = (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
      for (const [name, value] of Object.entries(mod)) {
        if (!/Error$/.test(name) || typeof value !== 'function') continue;
        seen.push(name);
        const proto = (value as { prototype: unknown }).prototype;
        if (value !== LoraLabError && !(proto instanceof LoraLabError)) wrong.push(`${relative(root, entry)}: ${name}`);
      }
    }
    expect(wrong).toEqual([]);
    for (const name of ['LoraLabError', 'SafetensorsError', 'PeftConfigError', 'QuantizationError', 'DataError', 'ShapeError', 'SqlTaskError', 'WebGpuError']) expect(seen).toContain(name);
  }, 120_000);
});

describe('LoraLabError: the message and its parts', () => {
  it('puts file, field, problem and expected in one order, leaving out what is not given', () => {
    expect(errorMessage('has 5 values', { file: 'w.safetensors', field: 'lm_head.weight', expected: '6' })).toBe('w.safetensors: lm_head.weight: has 5 values; expected 6');
    expect(errorMessage('no such file', { file: 'x.jsonl' })).toBe('x.jsonl: no such file');
    expect(errorMessage('got 0', { field: 'steps', expected: 'a positive number' })).toBe('steps: got 0; expected a positive number');
    expect(errorMessage('plain')).toBe('plain');
  });

  it('keeps the parts as fields and the cause as Error.cause', () => {
    const cause = new Error('disk');
    const e = new ArgumentError('got -1', { file: 'f.json', field: 'lr', expected: 'above 0', cause });
    expect(e).toBeInstanceOf(LoraLabError);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('ArgumentError');
    expect([e.file, e.field, e.expected, e.cause]).toEqual(['f.json', 'lr', 'above 0', cause]);
    expect(e.message).toBe('f.json: lr: got -1; expected above 0');
  });

  it('says an InternalError is a LoRA Lab bug, and assertInternal throws one only when the condition fails', () => {
    expect(() => assertInternal(1 + 1 === 2, 'arithmetic')).not.toThrow();
    const e = (() => {
      try {
        assertInternal(false, 'bucket 3 holds two midpoints');
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(InternalError);
    expect((e as Error).message).toBe('bucket 3 holds two midpoints (a LoRA Lab bug, not a problem with your input: please report it)');
  });
});

/** The error `f` throws (the test fails if it throws none). */
function thrown(f: () => unknown): LoraLabError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(LoraLabError);
    return e as LoraLabError;
  }
  throw new Error('expected an error');
}

describe('user errors carry the file, the field and what was expected', () => {
  beforeAll(async () => {
    await initBackend({ log: false });
  });

  it('Linear: an input whose last dimension is not in_features, and a weight of the wrong length', () => {
    const lin = new Linear(3, 2);
    const e = thrown(() => lin.forward(tf.zeros([2, 4])));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toBe('Linear: x: has shape [2, 4]; expected [..., 3] (in_features 3)');
    expect([e.file, e.field]).toEqual(['Linear', 'x']);
    expect(lin.forward(tf.zeros([2, 5, 3])).shape).toEqual([2, 5, 2]);
    const w = thrown(() => new Linear(3, 2, { weight: new Float32Array(5) }));
    expect(w.message).toBe('Linear: weight: has 5 values; expected 6 values for [out, in] = [2, 3]');
  });

  it('Embedding: ragged ids, an id outside the vocabulary, a table of the wrong length', () => {
    const emb = new Embedding(10, 4, { f32: new Float32Array(40) });
    const ragged = thrown(() => emb.forward([[1, 2, 3], [4, 5]]));
    expect(ragged).toBeInstanceOf(ShapeError);
    expect(ragged.message).toBe('Embedding: ids: sequence 1 has 2 tokens, sequence 0 has 3; expected all sequences in a batch of the same length (pad them)');
    const outside = thrown(() => emb.forward([[1, 10]]));
    expect(outside).toBeInstanceOf(ArgumentError);
    expect(outside.message).toBe('Embedding: ids: token id 10 is outside the vocabulary [0, 10); expected integers in [0, 10)');
    const table = thrown(() => new Embedding(10, 4, { f32: new Float32Array(39) }));
    expect([table.field, table.expected]).toEqual(['weight', '40 for [10, 4]']);
  });

  it('the rank r: LoraLinear, LoraConfig and adapter_config.json refuse it with one class and one message', () => {
    for (const r of [0, -2, 2.5]) {
      const layer = thrown(() => new LoraLinear(new Linear(4, 4), { r, loraAlpha: 8 }));
      const config = thrown(() => loraConfig({ r }));
      expect(layer).toBeInstanceOf(PeftConfigError);
      expect(config).toBeInstanceOf(PeftConfigError);
      expect(layer.message).toBe(`r: ${r} is not a valid LoRA rank; expected a positive integer`);
      expect(config.message).toBe(layer.message);
      expect([layer.field, layer.expected]).toEqual(['r', 'a positive integer']);
    }
    const file = thrown(() => parseAdapterConfig({ peft_type: 'LORA', r: 0, target_modules: ['q_proj'] }, 'out/adapter_config.json'));
    expect(file).toBeInstanceOf(PeftConfigError);
    expect(file.message).toBe('out/adapter_config.json: r: 0 is not a valid LoRA rank; expected a positive integer');
    expect([file.file, file.field]).toEqual(['out/adapter_config.json', 'r']);
    // the other LoRA hyperparameters share the check too
    const dropout = thrown(() => new LoraLinear(new Linear(4, 4), { r: 2, loraAlpha: 8, loraDropout: 1 }));
    expect(dropout.message).toBe(thrown(() => loraConfig({ loraDropout: 1 })).message);
    expect(dropout.message).toBe('lora_dropout: 1 is not a dropout probability; expected a number in [0, 1)');
  });

  it('a loss whose labels do not match the inputs, or hold an id outside the vocabulary', () => {
    const logits = tf.zeros([2, 3, 5]) as tf.Tensor3D;
    const rows = thrown(() => causalLmLoss(logits, [[1, 2, 3]]));
    expect(rows).toBeInstanceOf(ShapeError);
    expect(rows.message).toBe('causalLmLoss: labels: 1 rows for inputs [2, 3]; expected [2][3], one label per input token');
    const ragged = thrown(() => causalLmLoss(logits, [[1, 2, 3], [1, 2]]));
    expect(ragged.message).toMatch(/^causalLmLoss: labels: row 1 has 2 labels for inputs \[2, 3\]/);
    const vocab = thrown(() => causalLmLoss(logits, [[1, 2, 7], [1, 2, 3]]));
    expect(vocab.message).toBe('causalLmLoss: labels: label 7 at [0, 2] is outside the vocabulary [0, 5); expected -100 or integers in [0, 5)');
    const masked = thrown(() => causalLmLoss(logits, [[-100, -100, -100], [1, -100, -100]]));
    expect(masked).toBeInstanceOf(DataError);
    const head = { numEmbeddings: 5, embeddingDim: 4, chunkRows: 5, rowsTensor: () => tf.zeros([5, 4]) as tf.Tensor2D };
    const fused = thrown(() => fusedHeadCausalLoss(tf.zeros([2, 3, 4]) as tf.Tensor3D, head, [[1, 2, 3]]));
    expect(fused.message).toBe('fusedHeadCausalLoss: labels: 1 rows for inputs [2, 3]; expected [2][3], one label per input token');
    expect(causalLmLoss(logits, [[1, 2, 3], [1, 2, 3]]).dataSync()[0]).toBeCloseTo(Math.log(5), 5);
  });

  it('files: a tensor of the wrong dtype, a short file, a data size unlike its spec', () => {
    const dtype = thrown(() => toFloat32({ dtype: 'I32', shape: [1], data: new Uint8Array(4) }, 'm.safetensors', 'ids'));
    expect(dtype.message).toBe("m.safetensors: tensor 'ids': has dtype I32; expected a floating dtype (F32, F16, BF16 or F64)");
    expect(dtype.file).toBe('m.safetensors');
    const short = thrown(() => SafetensorsReader.fromBytes(new Uint8Array(3), 'e.safetensors'));
    expect(short).toBeInstanceOf(SafetensorsError);
    expect(short.file).toBe('e.safetensors');
    const size = thrown(() => serialize({ w: { dtype: 'F32', shape: [2], data: new Uint8Array(4) } }));
    expect(size).toBeInstanceOf(SafetensorsWriteError);
    expect(size.message).toBe("tensor 'w': data has 4 bytes, F32 [2] needs 8");
    expect(FileReadError.prototype).toBeInstanceOf(LoraLabError);
  });

  it('errors about a file keep the file as a field, with the message unchanged', () => {
    const cfg = thrown(() => parseGemmaConfig({ ...GEMMA_2B_CONFIG_JSON, num_attention_heads: '8' }, 'x/config.json'));
    expect(cfg).toBeInstanceOf(ConfigError);
    expect(cfg.file).toBe('x/config.json');
    expect(cfg.message).toBe('x/config.json: field \'num_attention_heads\' must be a positive integer, got "8"');
    const dir = thrown(() => CheckpointWeights.open('/nonexistent/model'));
    expect([dir.file, dir.message]).toEqual(['/nonexistent/model', '/nonexistent/model: no such directory']);
    const sd = packQuantState('w', quantizeNF4(new Float32Array(64).fill(0.5)).state);
    const absmax = thrown(() => unpackQuantState('w', (k) => (k === 'w.absmax' ? { dtype: 'F32', shape: [1], data: new Uint8Array(new Float32Array([Infinity]).buffer) } : sd[k]), 'f.safetensors'));
    expect(absmax).toBeInstanceOf(BnbFormatError);
    expect([absmax.file, absmax.field]).toEqual(['f.safetensors', 'w.absmax']);
    expect(absmax.message).toMatch(/^f\.safetensors: w\.absmax: absmax has Inf at index 0/);
  });
});
