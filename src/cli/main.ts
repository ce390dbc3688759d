#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { exitCodes, fail } from './exit.js';
import { serveCommand } from './serve.js';

const program = new Command()
  .name('keyward')
  .description('API-key authentication: run the protected demo API and manage keys')
  .version('0.1.0')
  .showHelpAfterError()
  .exitOverride();

program.addCommand(serveCommand());

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? 0 : exitCodes.usage;
  } else {
    fail(error);
  }
}
