import { generatePepper } from '@keyward/keys';
import type { Command } from 'commander';
import type { CliIO } from './io.js';
import { jsonOption } from './options.js';
import { jsonLine } from './render.js';

/** `keyward pepper ...`. */
export function registerPepper(program: Command, io: CliIO): void {
  const pepper = program
    .command('pepper')
    .description('the server-side secret stored keys are hashed with (KEYWARD_PEPPER)');
  pepper
    .command('generate')
    .description(
      'print a new random pepper (256 bits, base64url) on stdout, e.g. export KEYWARD_PEPPER=$(npx keyward pepper generate)',
    )
    .addOption(jsonOption())
    .action((flags: { json?: boolean }) => {
      const value = generatePepper();
      io.stdout.write(flags.json ? jsonLine({ pepper: value }) : `${value}\n`);
    });
}
