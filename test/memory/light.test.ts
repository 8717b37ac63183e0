/**
 * `loralab/memory` is the calculator a reader runs before installing anything heavy: importing it must not load TF.js.
 * A child Node process imports the built module with a loader hook that refuses any @tensorflow module; the same hook
 * on `loralab/peft` (which builds module trees) shows that it does catch TF.js.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = join(import.meta.dirname, '..', '..', 'lib', 'dist');

const HOOK = `export async function load(url, context, next) {
  if (url.includes('/@tensorflow/')) throw new Error('LOADED_TFJS ' + url);
  return next(url, context);
}`;

function importWithoutTfjs(entry: string): { code: number | null; out: string } {
  const script = `
    import { register } from 'node:module';
    register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(HOOK)}));
    const m = await import(${JSON.stringify(pathToFileURL(join(dist, entry)).href)});
    console.log('EXPORTS ' + Object.keys(m).length);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('loralab/memory stays light', () => {
  it('imports without loading @tensorflow/tfjs, and predicts', () => {
    const r = importWithoutTfjs('memory/index.js');
    expect(r.out).not.toMatch(/LOADED_TFJS/);
    expect(r.out).toMatch(/EXPORTS [1-9]/);
    expect(r.code).toBe(0);
  });

  it('the hook catches TF.js where it is loaded (loralab/peft)', () => {
    const r = importWithoutTfjs('peft/index.js');
    expect(r.out).toMatch(/LOADED_TFJS .*@tensorflow/);
    expect(r.code).not.toBe(0);
  });
});
