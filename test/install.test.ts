/**
 * What a newcomer meets: a fresh clone, the README's install command, then the `loralab` command through npx exactly
 * as the README shows it. (The tests elsewhere call lib/dist/cli/main.js directly and could not notice a missing bin.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const startCommand = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)][0]![1]!.trim();
// The first command is "<install> && npm start": a test runs the install, not the server.
const installCommand = startCommand.replace(/\s*&&\s*npm start$/, '');

let clone: string;
const sh = (command: string, cwd: string, timeout = 600_000) =>
  spawnSync('bash', ['-c', command], { cwd, encoding: 'utf8', timeout, env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false' } });

describe('a fresh clone, after the README install command', () => {
  beforeAll(() => {
    clone = mkdtempSync(join(tmpdir(), 'loralab-clone-'));
    const c = spawnSync('git', ['clone', '--quiet', root, clone], { encoding: 'utf8' });
    expect(c.status, c.stderr).toBe(0);
    expect(installCommand).toBe('npm install');
    const r = sh(installCommand, clone);
    expect(r.status, `${installCommand} failed:\n${r.stderr.slice(-3000)}`).toBe(0);
  }, 900_000);
  afterAll(() => rmSync(clone, { recursive: true, force: true }));

  it('npx --no-install loralab --help lists the commands', () => {
    const r = sh('npx --no-install loralab --help', clone, 60_000);
    expect(r.status, r.stderr).toBe(0);
    for (const cmd of ['quantize', 'inspect', 'train', 'memory', 'params', 'demo']) expect(r.stdout).toContain(cmd);
  });

  it('npx --no-install loralab params --model gemma-2b counts Gemma-2B', () => {
    const r = sh('npx --no-install loralab params --model gemma-2b', clone, 60_000);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('2,506,172,416');
  });
});

describe('the launcher without a build', () => {
  it('says in one line to build, and fails', () => {
    const dir = mkdtempSync(join(tmpdir(), 'loralab-nobuild-'));
    try {
      mkdirSync(join(dir, 'bin'));
      copyFileSync(join(root, 'lib/bin/loralab.js'), join(dir, 'bin/loralab.js'));
      const r = spawnSync(process.execPath, [join(dir, 'bin/loralab.js'), '--help'], { encoding: 'utf8' });
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^loralab: error: the CLI is not built yet .*run `npm run build`/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
