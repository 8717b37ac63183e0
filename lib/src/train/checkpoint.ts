/**
 * Checkpoints that survive a kill at any moment: a checkpoint is written into `<name>.tmp-<pid>/`, every file is
 * fsync'd, the folder is renamed to `<name>/` and only then is `latest` replaced (write to a temp file, fsync,
 * rename). A reader follows `latest`; a half-written folder is never named there.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointStateError } from './errors.js';

export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Write a small file atomically. */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  fsyncPath(tmp);
  renameSync(tmp, path);
}

/** Write a checkpoint folder through `fill(tmpDir)` and publish it as `latest`. */
export function commitCheckpoint(outDir: string, name: string, fill: (dir: string) => void): string {
  mkdirSync(outDir, { recursive: true });
  const tmp = join(outDir, `${name}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  fill(tmp);
  for (const f of readdirSync(tmp)) fsyncPath(join(tmp, f));
  const final = join(outDir, name);
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  fsyncPath(outDir);
  writeFileAtomic(join(outDir, 'latest'), `${name}\n`);
  return final;
}

/** The folder `latest` names, or null. Leftover `*.tmp-*` folders from a killed run are removed. */
export function latestCheckpoint(outDir: string): string | null {
  if (!existsSync(outDir)) return null;
  for (const f of readdirSync(outDir)) if (/\.tmp-\d+$/.test(f)) rmSync(join(outDir, f), { recursive: true, force: true });
  const p = join(outDir, 'latest');
  if (!existsSync(p)) return null;
  const name = readFileSync(p, 'utf8').trim();
  const dir = join(outDir, name);
  if (!existsSync(dir)) throw new CheckpointStateError(`names ${name}, which does not exist`, { file: p, expected: 'the name of a checkpoint folder beside it' });
  return dir;
}

/** Keep the newest `keep` checkpoint folders (by name order) besides the latest one. */
export function pruneCheckpoints(outDir: string, keep: number): void {
  const latest = existsSync(join(outDir, 'latest')) ? readFileSync(join(outDir, 'latest'), 'utf8').trim() : null;
  const names = readdirSync(outDir).filter((f) => /^checkpoint-\d+$/.test(f)).sort();
  for (const n of names.slice(0, Math.max(0, names.length - keep))) if (n !== latest) rmSync(join(outDir, n), { recursive: true, force: true });
}
