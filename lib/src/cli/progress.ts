/**
 * Progress for long file work: a bar on an interactive terminal (cli-progress), a line every 10% otherwise, nothing
 * for small jobs. Always on stderr, so stdout stays clean for results.
 */
import cliProgress from 'cli-progress';
import type { Progress } from '../quant/files.js';

const MiB = 1024 * 1024;

export function progressReporter(label: string, opts: { minBytes?: number } = {}): { update: (p: Progress) => void; stop: () => void } {
  // LORALAB_PROGRESS_MIN_BYTES lowers the threshold (tests use it to see progress on small files).
  const fromEnv = Number(process.env.LORALAB_PROGRESS_MIN_BYTES);
  const minBytes = opts.minBytes ?? (Number.isFinite(fromEnv) && process.env.LORALAB_PROGRESS_MIN_BYTES ? fromEnv : 64 * MiB);
  let bar: cliProgress.SingleBar | null = null;
  let lastDecile = -1;
  return {
    update(p) {
      if (p.total < minBytes) return;
      if (process.stderr.isTTY) {
        if (!bar) {
          bar = new cliProgress.SingleBar(
            { format: `${label} [{bar}] {percentage}% | {value}/{total} MiB | {tensor}`, stream: process.stderr, hideCursor: true },
            cliProgress.Presets.shades_classic,
          );
          bar.start(Math.ceil(p.total / MiB), 0, { tensor: '' });
        }
        bar.update(Math.floor(p.done / MiB), { tensor: p.tensor });
      } else {
        const decile = Math.floor((10 * p.done) / p.total);
        if (decile !== lastDecile) {
          lastDecile = decile;
          process.stderr.write(`${label}: ${decile * 10}% (${(p.done / MiB).toFixed(1)}/${(p.total / MiB).toFixed(1)} MiB) ${p.tensor}\n`);
        }
      }
    },
    stop() {
      bar?.stop();
    },
  };
}
