// Command-line arguments for the project's CLIs: a mistake in a flag is a usage error (exit 2) with
// one clear line and the usage text, never a stack trace; numbers are checked, never read as NaN or 0.
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A mistake in how the command was called: print the message and the usage, exit 2. */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs in strict mode, its errors (unknown flag, missing value) turned into UsageError. */
export function parseCli<O extends Options>(options: O, args: string[] = process.argv.slice(2), allowPositionals = false) {
  try {
    return parseArgs({ options, args, allowPositionals, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]!);
  }
}

/** An integer flag within [min, max]; `--devices abc` is an error, not 0. */
export function intFlag(name: string, raw: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = raw !== undefined && /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${raw ?? ''}"`);
  }
  return n;
}

/** A number flag within [min, max] (fractions allowed). */
export function numberFlag(name: string, raw: string | undefined, min: number, max = Number.MAX_VALUE): number {
  const n = raw !== undefined && raw.trim() !== '' ? Number(raw) : NaN;
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${name} must be a number from ${min} to ${max}, got "${raw ?? ''}"`);
  return n;
}

/** A port flag: 0 (any free port) to 65535. */
export function portFlag(name: string, raw: string | undefined): number {
  return intFlag(name, raw, 0, 65535);
}

/**
 * The end of a CLI's main(): a UsageError prints its message and the usage (exit 2); any other error
 * one line (exit 1), the stack only with DEBUG set.
 */
export function exitOnError(usage: string): (e: unknown) => void {
  return (e: unknown) => {
    if (e instanceof UsageError) {
      process.stderr.write(`error: ${e.message}\n\n${usage}`);
      process.exitCode = 2;
      return;
    }
    const err = e as Error;
    process.stderr.write(`error: ${err.message ?? String(e)}\n${process.env.DEBUG ? `${err.stack}\n` : ''}`);
    process.exitCode = 1;
  };
}
