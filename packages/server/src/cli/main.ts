#!/usr/bin/env node
import { runCli } from './program.js';

// A reader that stops early (`keyward keys export | head`) closes the pipe: stop quietly,
// as Unix tools killed by SIGPIPE do (exit 128 + 13), without a stack trace. `serve`
// writes its log to the file descriptor itself, so this never stops a server.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(141);
  throw error;
});

process.exitCode = await runCli(process.argv.slice(2));
