/** The built `loralab` CLI, run as a user runs it (npm test builds lib/ first). */
import { describe, expect, it, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsReader, writeSafetensors } from 'loralab/io';
import { floatTensor, toFloat32, roundToBf16, quantizeNF4, dequantize4bit, unpackQuantState } from 'loralab/quant';
import { Rng } from '../lib/src/util/rng.js';

const CLI = join(import.meta.dirname, '..', 'lib', 'dist', 'cli', 'main.js');

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

let dir: string;
let dense: string;
const rng = new Rng(42);
const W = roundToBf16(rng.normalArray(96 * 64, 0.02));
const bias = rng.normalArray(96);
const E = rng.normalArray(10 * 64, 1);

beforeAll(() => {
  expect(existsSync(CLI), 'run `npm run build` first').toBe(true);
  dir = mkdtempSync(join(tmpdir(), 'loralab-cli-'));
  dense = join(dir, 'dense.safetensors');
  writeSafetensors(
    dense,
    {
      'model.layers.0.mlp.up_proj.weight': floatTensor(W, [96, 64], 'BF16'),
      'model.layers.0.mlp.up_proj.bias': floatTensor(bias, [96], 'F32'),
      'model.embed_tokens.weight': floatTensor(E, [10, 64], 'F32'),
      'model.step': { dtype: 'I64', shape: [1], data: new Uint8Array(8) },
    },
    { format: 'pt' },
  );
});

describe('loralab quantize / dequantize / inspect', () => {
  it('quantize writes bitsandbytes keys for 2-D float tensors and copies the rest byte for byte', () => {
    const out = join(dir, 'q.safetensors');
    const r = run(['quantize', dense, out, '--double-quant', '--skip', 'embed_tokens']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/quantized 1 tensors \(6,144 parameters, nf4, blocksize 64, double quant\)/);
    const rd = SafetensorsReader.open(out);
    const src = SafetensorsReader.open(dense);
    expect(rd.names().sort()).toEqual(
      [
        'model.layers.0.mlp.up_proj.weight', 'model.layers.0.mlp.up_proj.weight.absmax', 'model.layers.0.mlp.up_proj.weight.quant_map',
        'model.layers.0.mlp.up_proj.weight.nested_absmax', 'model.layers.0.mlp.up_proj.weight.nested_quant_map',
        'model.layers.0.mlp.up_proj.weight.quant_state.bitsandbytes__nf4', 'model.layers.0.mlp.up_proj.bias', 'model.embed_tokens.weight', 'model.step',
      ].sort(),
    );
    for (const k of ['model.layers.0.mlp.up_proj.bias', 'model.embed_tokens.weight', 'model.step']) expect(rd.readBytes(k)).toEqual(src.readBytes(k));
    expect(rd.metadata).toEqual({ format: 'pt' });
    // identical to quantizing in the library
    const st = unpackQuantState('model.layers.0.mlp.up_proj.weight', (k) => (rd.has(k) ? rd.read(k) : undefined));
    const lib = quantizeNF4(W, { shape: [96, 64], dtype: 'bfloat16', doubleQuant: true }).state;
    expect(st.packed).toEqual(lib.packed);
    expect(st.dtype).toBe('bfloat16');
    expect(Array.from(dequantize4bit(st))).toEqual(Array.from(dequantize4bit(lib)));
    rd.close();
    src.close();
  });

  it('dequantize restores dense tensors (dtype recorded, or --dtype)', () => {
    const q = join(dir, 'q2.safetensors');
    expect(run(['quantize', dense, q, '--quant-type', 'fp4', '--blocksize', '32', '--compute-dtype', 'float32']).code).toBe(0);
    const back = join(dir, 'back.safetensors');
    const r = run(['dequantize', q, back]);
    expect(r.code).toBe(0);
    const rd = SafetensorsReader.open(back);
    expect(rd.info('model.layers.0.mlp.up_proj.weight')).toMatchObject({ dtype: 'F32', shape: [96, 64] });
    expect(rd.info('model.embed_tokens.weight')).toMatchObject({ dtype: 'F32', shape: [10, 64] });
    expect(rd.names()).not.toContain('model.embed_tokens.weight.absmax');
    const wq = toFloat32(rd.read('model.layers.0.mlp.up_proj.weight'));
    let maxErr = 0;
    for (let i = 0; i < W.length; i++) maxErr = Math.max(maxErr, Math.abs(wq[i] - W[i]));
    expect(maxErr).toBeLessThan(0.03);
    expect(maxErr).toBeGreaterThan(0);
    rd.close();
    const bf = join(dir, 'back-bf16.safetensors');
    expect(run(['dequantize', q, bf, '--dtype', 'bfloat16']).code).toBe(0);
    expect(SafetensorsReader.open(bf).info('model.layers.0.mlp.up_proj.weight').dtype).toBe('BF16');
  });

  it('inspect lists tensors and the 4-bit quant state with bits per parameter', () => {
    const q = join(dir, 'q3.safetensors');
    run(['quantize', dense, q, '--double-quant']);
    const r = run(['inspect', q]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/model\.layers\.0\.mlp\.up_proj\.weight\.quant_state\.bitsandbytes__nf4\s+U8/);
    expect(r.out).toMatch(/4-bit parameters \(bitsandbytes format\): 2/);
    expect(r.out).toMatch(/up_proj\.weight\s+nf4\s+\[96, 64\]\s+bfloat16\s+64\s+yes/);
    const j = JSON.parse(run(['inspect', q, '--json']).out);
    expect(j.quantized.map((p: { param: string }) => p.param).sort()).toEqual(['model.embed_tokens.weight', 'model.layers.0.mlp.up_proj.weight']);
  });

  it('shows progress on large jobs (threshold lowered for the test)', () => {
    const r = run(['quantize', dense, join(dir, 'p.safetensors')], { LORALAB_PROGRESS_MIN_BYTES: '1' });
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/quantize: 100% \(/);
  });
});

describe('errors: one clear line, non-zero exit, no stack trace', () => {
  const clean = (r: ReturnType<typeof run>) => {
    expect(r.code).not.toBe(0);
    expect(r.err).not.toMatch(/\n\s+at /);
    return r.err;
  };
  it('missing file, directory, malformed header, unknown dtype, bad options', () => {
    expect(clean(run(['quantize', join(dir, 'nope.safetensors'), join(dir, 'o.safetensors')]))).toMatch(/loralab: error: .*nope\.safetensors: no such file/);
    expect(clean(run(['inspect', dir]))).toMatch(/is a directory/);
    const bad = join(dir, 'bad.safetensors');
    writeFileSync(bad, Buffer.concat([Buffer.from([5, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{"x":')]));
    expect(clean(run(['inspect', bad]))).toMatch(/bad\.safetensors: InvalidHeaderDeserialization: header is not valid JSON/);
    const unk = join(dir, 'unk.safetensors');
    const h = '{"x":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}';
    writeFileSync(unk, Buffer.concat([Buffer.from([h.length, 0, 0, 0, 0, 0, 0, 0]), Buffer.from(h), Buffer.from([0])]));
    expect(clean(run(['quantize', unk, join(dir, 'o.safetensors')]))).toMatch(/tensor 'x': dtype must be one of .* got "Q4"/);
    expect(clean(run(['quantize', dense, join(dir, 'o.safetensors'), '--blocksize', '100']))).toMatch(/--blocksize must be one of 32, 64, 128/);
    expect(clean(run(['quantize', dense, join(dir, 'o.safetensors'), '--quant-type', 'int4']))).toMatch(/--quant-type must be one of nf4, fp4/);
    expect(clean(run(['dequantize', dense, join(dir, 'o.safetensors'), '--dtype', 'int8']))).toMatch(/--dtype must be one of/);
    expect(clean(run(['quantize', dense]))).toMatch(/missing required argument 'out'/);
    expect(clean(run(['frobnicate']))).toMatch(/unknown command 'frobnicate'/);
    expect(existsSync(join(dir, 'o.safetensors'))).toBe(false);
  });
  it('refuses to quantize an already-quantized file', () => {
    const q = join(dir, 'qq.safetensors');
    run(['quantize', dense, q]);
    expect(clean(run(['quantize', q, join(dir, 'qqq.safetensors')]))).toMatch(/already holds 4-bit parameters/);
  });
  it('--help on every command', () => {
    for (const c of [[], ['quantize'], ['dequantize'], ['inspect'], ['demo']]) {
      const r = run([...c, '--help']);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^Usage: loralab/);
    }
    expect(run(['quantize', '--help']).out).toMatch(/--quant-type <type>[\s\S]*--blocksize <n>[\s\S]*--double-quant[\s\S]*--compute-dtype <dtype>/);
    expect(run(['--version']).out.trim()).toBe(JSON.parse(readFileSync(join(import.meta.dirname, '..', 'lib', 'package.json'), 'utf8')).version);
  });
});

describe("Commander's errors in the CLI's one voice: one line, a suggestion where one exists, where the usage is, exit 2", () => {
  const oneLine = (args: string[]) => {
    const r = run(args);
    expect(r.code, r.err).toBe(2);
    expect(r.out).toBe('');
    const lines = r.err.split('\n').filter(Boolean);
    expect(lines, r.err).toHaveLength(1);
    expect(lines[0]).toMatch(/^loralab: error: /);
    return lines[0];
  };
  it('unknown option: the flag PEFT users mean (--rank is --r), snake_case, a misspelling, a prefix', () => {
    expect(oneLine(['params', '--model', 'gemma-2b', '--rank', '8'])).toBe("loralab: error: unknown option '--rank' (did you mean --r?); run 'loralab params --help' for usage");
    expect(oneLine(['params', '--model', 'gemma-2b', '--target_modules', 'q_proj'])).toMatch(/unknown option '--target_modules' \(did you mean --target-modules\?\)/);
    expect(oneLine(['memory', '--model', 'gemma-2b', '--method', 'lora', '--seqlen', '64'])).toMatch(/unknown option '--seqlen' \(did you mean --seq-len\?\); run 'loralab memory --help' for usage$/);
    expect(oneLine(['train', '--data', 'd.jsonl', '--out', 'o', '--grad', '2'])).toMatch(/unknown option '--grad' \(did you mean one of --grad-accum, --gradient-checkpointing\?\)/);
    expect(oneLine(['quantize', dense, join(dir, 'o.safetensors'), '--frobnicate'])).toBe("loralab: error: unknown option '--frobnicate'; run 'loralab quantize --help' for usage");
  });
  it('unknown command, with the command meant where one is close', () => {
    expect(oneLine(['quantise', dense, join(dir, 'o.safetensors')])).toBe("loralab: error: unknown command 'quantise' (did you mean quantize?); run 'loralab --help' for the commands");
    expect(oneLine(['frobnicate'])).toBe("loralab: error: unknown command 'frobnicate'; run 'loralab --help' for the commands");
  });
  it('missing required option, missing option value, missing and surplus arguments', () => {
    expect(oneLine(['params'])).toBe("loralab: error: required option '--model <dir|name>' not specified; run 'loralab params --help' for usage");
    // Commander stops at the missing option; the misspelling that caused it is named too
    expect(oneLine(['params', '--modle', 'gemma-2b'])).toMatch(/required option '--model <dir\|name>' not specified, and unknown option '--modle' \(did you mean --model\?\)/);
    expect(oneLine(['params', '--model', 'gemma-2b', '--r'])).toBe("loralab: error: option '--r <n>' argument missing; run 'loralab params --help' for usage");
    expect(oneLine(['quantize', dense])).toBe("loralab: error: missing required argument 'out'; run 'loralab quantize --help' for usage");
    expect(oneLine(['inspect', dense, dense])).toMatch(/too many arguments for 'inspect'\. Expected 1 argument but got 2; run 'loralab inspect --help' for usage$/);
  });
  it('invalid values: numbers and choices name the flag, what it takes and what it got', () => {
    expect(oneLine(['params', '--model', 'gemma-2b', '--r', 'abc'])).toBe("loralab: error: --r must be an integer >= 1 (got 'abc')");
    expect(oneLine(['memory', '--model', 'gemma-2b', '--method', 'lora', '--seq-len', '1.5'])).toBe("loralab: error: --seq-len must be an integer >= 1 (got '1.5')");
    expect(oneLine(['memory', '--model', 'gemma-2b', '--method', 'lora', '--runtime', 'jax'])).toBe("loralab: error: --runtime must be one of pytorch, loralab (got 'jax')");
    expect(oneLine(['quantize', dense, join(dir, 'o.safetensors'), '--blocksize', '100'])).toMatch(/--blocksize must be one of 32, 64, 128, .* \(got '100'\)$/);
    expect(existsSync(join(dir, 'o.safetensors'))).toBe(false);
  });
});

describe('did-you-mean for flags', () => {
  it('edit distance counts an adjacent swap as one edit; suggestions come from the flags the command has', async () => {
    const { editDistance, suggestOption } = await import('../lib/src/cli/suggest.js');
    expect(editDistance('modle', 'model')).toBe(1);
    expect(editDistance('seqlen', 'seq-len')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    const flags = ['--r', '--lora-alpha', '--target-modules', '--resume', '--help'];
    expect(suggestOption('--rank', flags)).toEqual(['--r']);
    expect(suggestOption('--alpha', flags)).toEqual(['--lora-alpha']);
    expect(suggestOption('--lora_alpha=16', flags)).toEqual(['--lora-alpha']);
    expect(suggestOption('--rank', ['--help'])).toEqual([]); // no --r here, so no guess
    expect(suggestOption('--zzzz', flags)).toEqual([]);
  });
});
