/** The file commands: quantize, dequantize, inspect. */
import { existsSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { dequantizeFile, inspectFile, quantizeFile } from '../quant/files.js';
import { FLOAT_DTYPES, numel, type FloatDType } from '../numerics/dtype.js';
import { BLOCKSIZES } from '../quant/blockwise4.js';
import type { QuantType } from '../quant/codebooks.js';
import { progressReporter } from './progress.js';
import { humanBytes, table } from './format.js';
import { UsageError } from './errors.js';
import { choice } from './args.js';
import { shapeText } from '../util/errors.js';

function inputFile(path: string): string {
  if (!existsSync(path)) throw new UsageError(`${path}: no such file`);
  if (statSync(path).isDirectory()) throw new UsageError(`${path}: is a directory; expected a .safetensors file`);
  return path;
}

function blocksizeOf(v: string): number {
  return Number(choice('--blocksize', v, BLOCKSIZES.map(String)));
}

function regexes(v: string | undefined): RegExp[] {
  if (!v) return [];
  return v.split(',').filter(Boolean).map((s) => {
    try {
      return new RegExp(s);
    } catch {
      throw new UsageError(`--skip: '${s}' is not a valid regular expression`);
    }
  });
}

/** `loralab quantize`: one file to bitsandbytes' 4-bit layout, with a summary of what it wrote. */
function runQuantize(input: string, output: string, o: { quantType: string; blocksize: string; doubleQuant: boolean; computeDtype: string; skip?: string }): void {
  const quantType = choice<QuantType>('--quant-type', o.quantType, ['nf4', 'fp4']);
  const computeDtype = choice<FloatDType>('--compute-dtype', o.computeDtype, FLOAT_DTYPES);
  const blocksize = blocksizeOf(o.blocksize);
  const progress = progressReporter('quantize');
  const t0 = performance.now();
  const r = quantizeFile(inputFile(input), output, { quantType, blocksize, doubleQuant: o.doubleQuant, computeDtype, skip: regexes(o.skip), onProgress: progress.update });
  progress.stop();
  const params = r.quantized.reduce((s, q) => s + numel(q.shape), 0);
  const bits = r.quantized.length ? r.quantized.reduce((s, q) => s + q.bits.total * numel(q.shape), 0) / params : 0;
  console.log(
    `quantized ${r.quantized.length} tensors (${params.toLocaleString('en-US')} parameters, ${quantType}, blocksize ${blocksize}${o.doubleQuant ? ', double quant' : ''}) ` +
      `to ${bits.toFixed(3)} bits/parameter; copied ${r.copied.length} unchanged`,
  );
  console.log(`${input} (${humanBytes(r.inputBytes)}) -> ${output} (${humanBytes(r.outputBytes)}) in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
}

/** `loralab dequantize`: every 4-bit parameter back to a dense tensor. */
function runDequantize(input: string, output: string, o: { dtype?: string }): void {
  const dtype = o.dtype === undefined ? undefined : choice<FloatDType>('--dtype', o.dtype, FLOAT_DTYPES);
  const progress = progressReporter('dequantize');
  const r = dequantizeFile(inputFile(input), output, { dtype, onProgress: progress.update });
  progress.stop();
  console.log(`dequantized ${r.dequantized.length} tensors${dtype ? ` to ${dtype}` : ''}; copied ${r.copied.length} unchanged -> ${output}`);
}

/** `loralab inspect`: the tensors of a file and, for 4-bit parameters, their quant state. */
function runInspect(file: string, o: { json: boolean }): void {
  const r = inspectFile(inputFile(file));
  if (o.json) {
    console.log(JSON.stringify(r, null, 2));
    return;
  }
  console.log(`${file}: ${r.tensors.length} tensors, ${humanBytes(r.fileBytes)}${r.metadata ? `, metadata ${JSON.stringify(r.metadata)}` : ''}\n`);
  console.log(table(['tensor', 'dtype', 'shape', 'bytes'], r.tensors.map((t) => [t.name, t.dtype, `${shapeText(t.shape)}`, String(t.bytes)]), ['l', 'l', 'l', 'r']));
  if (r.quantized.length) {
    console.log(`\n4-bit parameters (bitsandbytes format): ${r.quantized.length}\n`);
    console.log(
      table(
        ['parameter', 'type', 'shape', 'dtype', 'block', 'double quant', 'bits/param', 'with codebooks'],
        r.quantized.map((q) => [
          q.param,
          q.state.quantType,
          `${shapeText(q.state.shape)}`,
          q.state.dtype,
          String(q.state.blocksize),
          q.state.doubleQuant ? `yes (offset ${q.state.doubleQuant.offset.toPrecision(6)}, blocks of ${q.state.doubleQuant.nestedBlocksize})` : 'no',
          q.bits.total.toFixed(4),
          q.bits.totalWithCodebooks.toFixed(4),
        ]),
        ['l', 'l', 'l', 'l', 'r', 'l', 'r', 'r'],
      ),
    );
  }
}

export function registerFileCommands(program: Command): void {
  program
    .command('quantize')
    .description("Quantize every floating tensor with 2+ dimensions to 4 bits in bitsandbytes' format; copy the rest unchanged")
    .argument('<in>', 'input .safetensors file')
    .argument('<out>', 'output .safetensors file (written atomically)')
    .option('--quant-type <type>', 'nf4 or fp4', 'nf4')
    .option('--blocksize <n>', `elements per absmax block (${BLOCKSIZES.join(', ')})`, '64')
    .option('--double-quant', 'quantize the absmax constants too (8-bit, blocks of 256)', false)
    .option('--compute-dtype <dtype>', 'dtype weights are cast to before quantizing and dequantized to (float32, bfloat16, float16)', 'bfloat16')
    .option('--skip <regexes>', 'comma-separated regexes of tensor names to copy unquantized (e.g. embed_tokens,lm_head)')
    .action((input: string, output: string, o: { quantType: string; blocksize: string; doubleQuant: boolean; computeDtype: string; skip?: string }) => runQuantize(input, output, o));

  program
    .command('dequantize')
    .description('Turn every 4-bit parameter back into a dense tensor; copy the rest unchanged')
    .argument('<in>', 'input .safetensors file with bitsandbytes 4-bit keys')
    .argument('<out>', 'output .safetensors file')
    .option('--dtype <dtype>', "output dtype (float32, bfloat16, float16); default: each parameter's recorded dtype")
    .action((input: string, output: string, o: { dtype?: string }) => runDequantize(input, output, o));

  program
    .command('inspect')
    .description('List tensors (dtype, shape, bytes) and, for 4-bit parameters, their quant state and bits per parameter')
    .argument('<file>', '.safetensors file')
    .option('--json', 'print the report as JSON', false)
    .action((file: string, o: { json: boolean }) => runInspect(file, o));
}
