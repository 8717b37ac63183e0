#!/usr/bin/env node
/**
 * The `loralab` command. Every failure is one line on stderr, `loralab: error: ...`, and a non-zero exit: 2 for a bad
 * call (Commander's errors and UsageError), 1 for bad input or a failed job. Set LORALAB_DEBUG=1 to see stack traces.
 */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { registerFileCommands } from './commands.js';
import { registerDemo } from './demo.js';
import { registerModelCommands } from './modelCommands.js';
import { registerTrainCommands } from './trainCommands.js';
import { registerMemoryCommand } from './memoryCommand.js';
import { UsageError, commanderErrorLine, errorLine } from './errors.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('loralab')
    .description('LoRA Lab: QLoRA for real — 4-bit NF4/FP4 storage bit-compatible with bitsandbytes, safetensors, and more')
    .version(pkg.version);
  registerFileCommands(program);
  registerModelCommands(program);
  registerTrainCommands(program);
  registerMemoryCommand(program);
  registerDemo(program);
  oneVoice(program);
  return program;
}

/** Commander's errors as one `loralab: error:` line with its suggestion and where the usage is; no exit of its own. */
function oneVoice(cmd: Command): void {
  cmd
    .exitOverride()
    .showSuggestionAfterError(true)
    .showHelpAfterError(false)
    .configureOutput({ outputError: (text, write) => write(`${commanderErrorLine(text, cmd)}\n`) });
  for (const c of cmd.commands) oneVoice(c);
}

async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Commander has already printed help, the version, or its error line.
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help' ? 0 : 2;
    }
    const err = e as Error;
    if (process.env.LORALAB_DEBUG) console.error(err.stack);
    console.error(errorLine(err.message));
    return err instanceof UsageError ? 2 : 1;
  }
}

process.exitCode = await main(process.argv);
