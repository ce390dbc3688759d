import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { registerAudit } from './audit.js';
import { exitCodes, exitCodesHelp, fail } from './exit.js';
import { type CliIO, processIO } from './io.js';
import { registerKeys } from './keys.js';
import { registerServe } from './serve.js';

// The package's own version, from src/ or dist/ alike (both sit two levels below it).
const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

/** The `keyward` command tree, writing through `io`. */
export function buildProgram(io: CliIO): Command {
  const program = new Command()
    .name('keyward')
    .description('API-key authentication: run the protected demo API and manage keys')
    .version(VERSION)
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .addHelpText('after', exitCodesHelp);
  registerServe(program, io);
  registerKeys(program, io);
  registerAudit(program, io);
  return program;
}

/** Runs the CLI on `args` (without node and script) and resolves with the exit code. */
export async function runCli(args: readonly string[], io: CliIO = processIO()): Promise<number> {
  try {
    await buildProgram(io).parseAsync([...args], { from: 'user' });
    return exitCodes.ok;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
    return fail(io, error);
  }
}
