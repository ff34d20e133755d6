/**
 * Command-line parsing shared by `mlp` and `mlpd`: node's parseArgs, with its errors turned into
 * usage errors (exit 2) that point at `--help`.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { usageError } from './errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseCommandLine<O extends Options>(command: string, args: string[], options: O, allowPositionals = true) {
  try {
    return parseArgs({ args, options: { help: { type: 'boolean', short: 'h' }, ...options }, allowPositionals, strict: true });
  } catch (err) {
    const message = (err as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw usageError(`${command}: ${message} (see '${command} --help')`);
  }
}

/** A TCP port from a flag, 0 meaning "any free port". */
export function parsePort(text: string | undefined, option: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw usageError(`${option}: '${text}' is not a port number (0-65535)`);
  return n;
}

/** One subcommand of a CLI: its usage line and summary (for help) and what it does. */
export interface CommandSpec {
  usage: string;
  summary: string;
  run(args: string[]): Promise<number> | number;
}
