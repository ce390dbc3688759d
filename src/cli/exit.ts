import { KeywardConfigError } from '../core/errors.js';

/** Documented exit codes of the `keyward` command. */
export const exitCodes = {
  ok: 0,
  /** Unexpected failure. */
  error: 1,
  /** Bad command line: unknown option, bad duration, bad scope. */
  usage: 2,
} as const;

/** Prints a one-line error (never a stack trace) and sets the exit code. */
export function fail(error: unknown, code: number = exitCodes.error): void {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`keyward: ${message}\n`);
  process.exitCode = error instanceof KeywardConfigError ? exitCodes.usage : code;
}
