#!/usr/bin/env node
/**
 * The `loralab` command. Every failure is one line on stderr and a non-zero exit: 2 for a bad call, 1 for bad input
 * or a failed job. Set LORALAB_DEBUG=1 to see stack traces.
 */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { registerFileCommands } from './commands.js';
import { registerDemo } from './demo.js';
import { registerModelCommands } from './modelCommands.js';
import { registerTrainCommands } from './trainCommands.js';
import { registerMemoryCommand } from './memoryCommand.js';
import { UsageError } from './errors.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('loralab')
    .description('LoRA Lab: QLoRA for real — 4-bit NF4/FP4 storage bit-compatible with bitsandbytes, safetensors, and more')
    .version(pkg.version)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerFileCommands(program);
  registerModelCommands(program);
  registerTrainCommands(program);
  registerMemoryCommand(program);
  registerDemo(program);
  for (const c of program.commands) c.exitOverride();
  return program;
}

async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Commander has already printed help, the version, or its one-line error.
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help' ? 0 : 2;
    }
    const err = e as Error;
    if (process.env.LORALAB_DEBUG) console.error(err.stack);
    console.error(`loralab: error: ${err.message}`);
    return err instanceof UsageError ? 2 : 1;
  }
}

process.exitCode = await main(process.argv);
