// What the QLoRA fine-tuning demo (src/components/QloraDemo.tsx) needs in the built site, made from the repository
// at build time (nothing of it is committed twice):
//   static/vendor/qlora-train-<hash>.js, qlora-sql-<hash>.js   its two Web Workers, bundled by esbuild with LoRA Lab's
//                                 TypeScript (Node's built-in modules, which only the file-reading parts of the library
//                                 import, become stubs that throw if called)
//   static/demo/gemma-micro/      the model folder (config.json, model.safetensors, tokenizer files)
//   static/demo/sql-train.json    the train split as one JSON array (compressible, unlike .jsonl)
//   static/demo/sql-task.json     schema.sql, data.sql and the test split, for the page and its SQL worker
//   static/demo/wasm/             tfjs-backend-wasm's three .wasm files and sql.js' sql-wasm.wasm
// Returns the URLs, which generate.mjs writes into src/data/vendor.json.
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const MODEL_FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];
const TFJS_WASM = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];

/** Each Node built-in becomes a module whose every export throws when called (never, in the demo's code paths). */
const nodeStubs = {
  name: 'node-builtins-stub',
  setup(b) {
    b.onResolve({ filter: /^(node:.*|fs|path|os|module|url|crypto|child_process|worker_threads|perf_hooks)$/ }, (a) => ({ path: a.path, namespace: 'node-stub' }));
    b.onLoad({ filter: /.*/, namespace: 'node-stub' }, (a) => ({
      loader: 'js',
      contents: `module.exports = new Proxy({}, { get: (_, k) => k === '__esModule' ? false : () => { throw new Error(${JSON.stringify(a.path)} + '.' + String(k) + ' is not available in a browser'); } });`,
    }));
  },
};

/** Parse a JSONL file into an array of objects, naming the file and line of a bad one. */
function jsonl(path) {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim()).map((l, i) => {
    try { return JSON.parse(l); } catch (e) { throw new Error(`${path}:${i + 1}: not valid JSON (${e.message})`); }
  });
}

/** `out` is the static folder written into (default site/static). */
export async function writeDemoAssets(repo, site, out = join(site, 'static')) {
  const esbuild = await import('esbuild');
  const vendor = join(out, 'vendor');
  const demo = join(out, 'demo');
  rmSync(demo, { recursive: true, force: true });
  mkdirSync(join(demo, 'gemma-micro'), { recursive: true });
  mkdirSync(join(demo, 'wasm'), { recursive: true });
  mkdirSync(vendor, { recursive: true });

  const workers = {};
  for (const [key, entry, name] of [['trainWorker', 'train.worker.ts', 'qlora-train'], ['sqlWorker', 'sql.worker.ts', 'qlora-sql']]) {
    const built = await esbuild.build({
      entryPoints: [join(site, 'src/qloraDemo', entry)], bundle: true, write: false, format: 'esm', platform: 'browser',
      target: 'es2022', minify: true, logLevel: 'silent', plugins: [nodeStubs],
    });
    const code = built.outputFiles[0].contents;
    const file = `${name}-${createHash('sha256').update(code).digest('hex').slice(0, 12)}.js`;
    writeFileSync(join(vendor, file), code);
    workers[key] = `/vendor/${file}`;
  }

  const model = join(repo, 'datasets/models/gemma-micro');
  for (const f of MODEL_FILES) cpSync(join(model, f), join(demo, 'gemma-micro', f));
  const sql = join(repo, 'datasets/sql');
  writeFileSync(join(demo, 'sql-train.json'), JSON.stringify(jsonl(join(sql, 'train.jsonl'))));
  writeFileSync(join(demo, 'sql-task.json'), JSON.stringify({ schema: readFileSync(join(sql, 'schema.sql'), 'utf8'), data: readFileSync(join(sql, 'data.sql'), 'utf8'), test: jsonl(join(sql, 'test.jsonl')) }));

  const req = createRequire(join(repo, 'lib/package.json'));
  const tfjsWasmDir = dirname(req.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  for (const f of TFJS_WASM) cpSync(join(tfjsWasmDir, 'dist', f), join(demo, 'wasm', f));
  cpSync(req.resolve('sql.js/dist/sql-wasm-browser.wasm'), join(demo, 'wasm', 'sql-wasm.wasm'));

  return { ...workers, model: '/demo/gemma-micro', train: '/demo/sql-train.json', task: '/demo/sql-task.json', tfjsWasm: '/demo/wasm/', sqlWasm: '/demo/wasm/sql-wasm.wasm' };
}
