import { createRequire } from 'node:module';
import { isKeyId } from '@keyward/keys';
import { Command, CommanderError } from 'commander';
import { registerAudit } from './audit.js';
import { registerCompletion } from './completion.js';
import { registerDoctor } from './doctor.js';
import { ExitCode, exitCodes, exitCodesHelp, fail } from './exit.js';
import { registerInit } from './init.js';
import { type CliIO, processIO, truthy } from './io.js';
import { registerKeys } from './keys.js';
import { applyEnvFlags } from './options.js';
import { registerOwners } from './owners.js';
import { registerPepper } from './pepper.js';
import { registerScan } from './scan.js';
import { registerServe } from './serve.js';
import { registerUsage } from './usage.js';
import { registerWebhooks } from './webhooks.js';

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

/** Whether errors are to be JSON: `--json` among the options, or `KEYWARD_JSON` set. */
export function wantsJson(args: readonly string[], env: NodeJS.ProcessEnv): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).includes('--json') || truthy(env.KEYWARD_JSON);
}

/** The `keyward` command tree, writing through `io`; `args` are kept out of commander's errors. */
export function buildProgram(io: CliIO, args: readonly string[] = []): Command {
  const json = wantsJson(args, io.env);
  const program = new Command()
    .name('keyward')
    .description('API-key authentication: run the protected demo API and manage keys')
    .version(VERSION)
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      // Under --json, runCli prints the error as one JSON object instead.
      outputError: (s, write) => (json ? undefined : write(hideArguments(s, args))),
    })
    .showHelpAfterError(!json && '(add --help for usage)')
    // Options after a subcommand are its own (`usage top --json`), never its parent's.
    .enablePositionalOptions()
    .exitOverride()
    .addHelpText('after', exitCodesHelp);
  applyEnvFlags(program, io.env);
  registerServe(program, io);
  registerKeys(program, io);
  registerOwners(program, io);
  registerAudit(program, io);
  registerPepper(program, io);
  registerUsage(program, io);
  registerInit(program, io);
  registerDoctor(program, io);
  registerCompletion(program, io);
  registerScan(program, io);
  registerWebhooks(program, io);
  return program;
}

/** Runs the CLI on `args` (without node and script) and resolves with the exit code. */
export async function runCli(args: readonly string[], io: CliIO = processIO()): Promise<number> {
  try {
    await buildProgram(io, args).parseAsync([...args], { from: 'user' });
    return exitCodes.ok;
  } catch (error) {
    const json = wantsJson(args, io.env);
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return exitCodes.ok;
      if (!json) return exitCodes.usage;
      const message = hideArguments(error.message.replace(/^error: /, ''), args);
      return fail(io, new Error(message), true, exitCodes.usage);
    }
    if (error instanceof ExitCode) return error.code;
    return fail(io, error, json);
  }
}
