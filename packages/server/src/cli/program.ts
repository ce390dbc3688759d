import { createRequire } from 'node:module';
import { isKeyId } from '@keyward/keys';
import { Command, CommanderError } from 'commander';
import { registerAudit } from './audit.js';
import { exitCodes, exitCodesHelp, fail } from './exit.js';
import { type CliIO, processIO } from './io.js';
import { registerKeys } from './keys.js';
import { registerOwners } from './owners.js';
import { registerPepper } from './pepper.js';
import { registerServe } from './serve.js';
import { registerUsage } from './usage.js';

// The package's own version, from src/ or dist/ alike (both sit two levels below it).
const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

const NOT_REPEATED = '(not repeated: it may be a key)';

/** The user-typed value an argument carries: `--opt=value`, `-pvalue`, or the argument itself. */
function typedValue(arg: string): string {
  if (arg.startsWith('--')) {
    const eq = arg.indexOf('=');
    return eq === -1 ? '' : arg.slice(eq + 1);
  }
  return arg.startsWith('-') ? arg.slice(2) : arg;
}

/**
 * Commander's own errors quote the offending argument (`argument '…' is invalid`,
 * `unknown command '…'`, `unknown option '--x=…'`). A value of 16 or more characters may
 * be a key pasted in the wrong place, alone or after `--opt=`: it is never repeated,
 * wherever it appears in the message.
 */
function hideArguments(message: string, args: readonly string[]): string {
  let text = message;
  for (const arg of args) {
    const value = typedValue(arg);
    if (value.length >= 16 && !isKeyId(value)) {
      text = text.replaceAll(`'${value}'`, NOT_REPEATED).replaceAll(value, NOT_REPEATED);
    }
  }
  return text;
}

/** The `keyward` command tree, writing through `io`; `args` are kept out of commander's errors. */
export function buildProgram(io: CliIO, args: readonly string[] = []): Command {
  const program = new Command()
    .name('keyward')
    .description('API-key authentication: run the protected demo API and manage keys')
    .version(VERSION)
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(hideArguments(s, args)),
    })
    .showHelpAfterError('(add --help for usage)')
    // Options after a subcommand are its own (`usage top --json`), never its parent's.
    .enablePositionalOptions()
    .exitOverride()
    .addHelpText('after', exitCodesHelp);
  registerServe(program, io);
  registerKeys(program, io);
  registerOwners(program, io);
  registerAudit(program, io);
  registerPepper(program, io);
  registerUsage(program, io);
  return program;
}

/** Runs the CLI on `args` (without node and script) and resolves with the exit code. */
export async function runCli(args: readonly string[], io: CliIO = processIO()): Promise<number> {
  try {
    await buildProgram(io, args).parseAsync([...args], { from: 'user' });
    return exitCodes.ok;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
    return fail(io, error);
  }
}
