/** The README's two commands are the contract with a newcomer and with CI. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const fenced = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1].trim());

describe('README', () => {
  it('opens with the install+start command and the test command', () => {
    expect(fenced[0]).toBe('npm install && npm start');
    expect(fenced[1]).toBe('npm ci && npm test');
    const firstCode = readme.indexOf('```');
    expect(readme.slice(0, firstCode).split('\n').filter((l) => l.trim()).length).toBeLessThanOrEqual(4);
  });
  it('.ci/run runs exactly the README test command', () => {
    const script = readFileSync(join(root, '.ci', 'run'), 'utf8');
    const awk = /TEST_COMMAND=\$\(awk '([^']+)' README\.md\)/.exec(script);
    expect(awk).not.toBeNull();
    const extracted = execFileSync('awk', [awk![1], 'README.md'], { cwd: root, encoding: 'utf8' }).trim();
    expect(extracted).toBe(fenced[1]);
  });
  it('npm scripts exist for start, test and bench', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    for (const s of ['start', 'test', 'bench']) expect(pkg.scripts[s]).toBeTruthy();
  });
});
