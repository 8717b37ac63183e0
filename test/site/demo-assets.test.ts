/**
 * What site/scripts/demoAssets.mjs puts into the site's static output for the QLoRA demo: both workers bundled for a
 * browser under content-hashed names (no Node built-in left to resolve), the model folder byte for byte, the SQL
 * task as JSON (the train split whole, schema, data and the test split), and the .wasm files TF.js and sql.js load.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDemoAssets, type DemoAssetUrls } from '../../site/scripts/demoAssets.mjs';

const ROOT = join(import.meta.dirname, '../..');
let out = '';
let urls: DemoAssetUrls;
const file = (url: string) => join(out, url);
const jsonl = (f: string) => readFileSync(join(ROOT, 'datasets/sql', f), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as unknown);

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'loralab-demo-assets-'));
  urls = await writeDemoAssets(ROOT, join(ROOT, 'site'), out);
}, 120_000);
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('the QLoRA demo\'s static files', () => {
  it('bundles both workers for the browser under names that carry a hash of their content', () => {
    for (const key of ['trainWorker', 'sqlWorker'] as const) {
      const m = /^\/vendor\/qlora-(train|sql)-([0-9a-f]{12})\.js$/.exec(urls[key]);
      expect(m, urls[key]).not.toBeNull();
      const code = readFileSync(file(urls[key]));
      expect(createHash('sha256').update(code).digest('hex').slice(0, 12)).toBe(m![2]);
      expect(code.toString('utf8')).not.toMatch(/from\s*["']node:/); // every Node built-in was stubbed, none imported
    }
  });

  it('copies gemma-micro byte for byte and writes the task as JSON', () => {
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) {
      expect(readFileSync(file(`${urls.model}/${f}`)).equals(readFileSync(join(ROOT, 'datasets/models/gemma-micro', f))), f).toBe(true);
    }
    expect(JSON.parse(readFileSync(file(urls.train), 'utf8'))).toEqual(jsonl('train.jsonl'));
    const task = JSON.parse(readFileSync(file(urls.task), 'utf8')) as { schema: string; data: string; test: unknown[] };
    expect(task.schema).toBe(readFileSync(join(ROOT, 'datasets/sql/schema.sql'), 'utf8'));
    expect(task.data).toBe(readFileSync(join(ROOT, 'datasets/sql/data.sql'), 'utf8'));
    expect(task.test).toEqual(jsonl('test.jsonl'));
  });

  it('serves the .wasm files of TF.js\'s wasm backend and of sql.js', () => {
    const magic = (p: string) => readFileSync(p).subarray(0, 4).toString('hex');
    for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) expect(magic(file(urls.tfjsWasm + f)), f).toBe('0061736d');
    expect(magic(file(urls.sqlWasm))).toBe('0061736d');
  });
});
