/**
 * The CLI's one voice for failures: one line on stderr, `loralab: error: ...`. Commander's own errors (unknown option
 * or command, missing argument or option, too many arguments) are rewritten into that line with its "did you mean"
 * and where to read the usage.
 */
import { LoraLabError } from '../util/errors.js';
import type { Command } from 'commander';
import { suggestOption } from './suggest.js';

/** A mistake in how the command was called: printed as one line, exit code 2. */
export class UsageError extends LoraLabError {
  override name = 'UsageError';
}

export function errorLine(message: string): string {
  return `loralab: error: ${message}`;
}

/** The long flags `cmd` accepts, its parents' included (as Commander looks them up). */
function longFlags(cmd: Command): string[] {
  const flags = ['--help'];
  for (let c: Command | null = cmd; c; c = c.parent) for (const o of c.options) if (o.long) flags.push(o.long);
  return flags;
}

/**
 * Commander's error text (`error: unknown option '--rank'`, possibly followed by a line `(Did you mean --r?)`) as
 * one line: `loralab: error: unknown option '--rank' (did you mean --r?); run 'loralab params --help' for usage`.
 */
export function commanderErrorLine(text: string, cmd: Command): string {
  const [first = '', ...rest] = text.trim().split('\n');
  let message = first.replace(/^error: /, '').replace(/\.$/, '');
  const commanders = /^\(Did you mean (.+)\?\)$/.exec(rest.join(' ').trim())?.[1];
  const unknown = /^unknown option '([^']+)'/.exec(message)?.[1];
  if (commanders) message += ` (did you mean ${commanders}?)`;
  else if (unknown) message += didYouMean(unknown, cmd);
  else if (/^required option /.test(message)) {
    // Commander reports a missing required option before an unknown one, which is often the same option misspelled.
    const known = longFlags(cmd);
    const stray = cmd.args.find((a) => a.startsWith('--') && !known.includes(a.split('=')[0]));
    if (stray) message += `, and unknown option '${stray}'${didYouMean(stray, cmd)}`;
  }
  const help = cmd.parent ? `run 'loralab ${cmd.name()} --help' for usage` : "run 'loralab --help' for the commands";
  return errorLine(`${message}; ${help}`);
}

function didYouMean(flag: string, cmd: Command): string {
  const guesses = suggestOption(flag, longFlags(cmd));
  return guesses.length ? ` (did you mean ${guesses.length === 1 ? guesses[0] : `one of ${guesses.join(', ')}`}?)` : '';
}
