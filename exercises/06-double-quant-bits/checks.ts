import { bitsPerParameter, quantize4bit } from 'loralab/quant';
import type { Exercise } from '../grader/types.js';

type Fn = (o: { n: number; blocksize: number; doubleQuant: boolean; nestedBlocksize?: number }) => number;
const measured = (n: number, blocksize: number, doubleQuant: boolean) => {
  const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37));
  return bitsPerParameter(quantize4bit(x, { blocksize, doubleQuant }).state).total;
};
export default {
  title: 'Bits per parameter with double quantization',
  exports: ['bitsPerParameter'],
  forbiddenImports: ['bitsPerParameter', 'quantize4bit', 'quantize4bitStreaming', 'doubleQuantize', 'predictMemory'],
  readNext: 'notebooks/06-qlora.ipynb (double quantization); the QLoRA paper, section 3',
  checks: [
    { name: 'single quantization: 4 + 32/blocksize', points: 2, hint: 'one float32 absmax per block', run: (m, t) => {
      for (const b of [64, 128]) t.close((m.bitsPerParameter as Fn)({ n: 65536, blocksize: b, doubleQuant: false }), measured(65536, b, false), 1e-12, `n=65536, blocksize ${b}`);
    } },
    { name: 'double quantization on a whole number of nested blocks', points: 3, hint: 'one uint8 per block, one float32 per 256 blocks, one float32 offset', run: (m, t) => {
      t.close((m.bitsPerParameter as Fn)({ n: 64 * 256 * 4, blocksize: 64, doubleQuant: true }), measured(64 * 256 * 4, 64, true), 1e-12, 'n=65536, blocksize 64');
    } },
    { name: 'sizes that do not fill the last block', points: 3, hint: 'round the number of blocks up (Math.ceil), and the code bytes too', run: (m, t) => {
      for (const [n, b, dq] of [[1000, 64, true], [777, 128, false], [100001, 64, true]] as [number, number, boolean][]) t.close((m.bitsPerParameter as Fn)({ n, blocksize: b, doubleQuant: dq }), measured(n, b, dq), 1e-12, `n=${n}, blocksize ${b}, double quant ${dq}`);
    } },
  ],
} satisfies Exercise;
