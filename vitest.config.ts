import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const lib = (p: string) => fileURLToPath(new URL(`./lib/src/${p}`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^loralab$/, replacement: lib('index.ts') },
      { find: /^loralab\/(.*)$/, replacement: lib('$1/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default', './test/summaryReporter.ts'],
  },
});
