// Facts about the machine a benchmark ran on, written next to every result.
import os from 'node:os';
import { readFileSync } from 'node:fs';

export function machine() {
  const lib = JSON.parse(readFileSync(new URL('../lib/package.json', import.meta.url), 'utf8'));
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loralab: lib.version,
  };
}
