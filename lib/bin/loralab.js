#!/usr/bin/env node
// The `loralab` command's launcher. npm links a package's bin only if its target exists at install time, and the
// compiled CLI (dist/cli/main.js) is made later by `npm run build`; this committed file is what npm links, and it
// loads the built CLI, or says in one line how to build it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error(`loralab: error: the CLI is not built yet (${fileURLToPath(main)} is missing): run \`npm run build\` in the LoRA Lab folder first`);
  process.exit(1);
}
await import(main.href);
