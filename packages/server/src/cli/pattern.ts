import { gitleaksRule, keyFormat, keyPattern } from '@keyward/keys';
import type { Command } from 'commander';
import type { CliIO } from './io.js';
import { jsonOption, keyPrefixOf, keyPrefixOption } from './options.js';
import { jsonLine } from './render.js';

/** `keyward keys pattern`: the scanner regex of this deployment's key format. */
export function registerPattern(keys: Command, io: CliIO): void {
  keys
    .command('pattern')
    .description(
      "print the regex secret scanners use to find this deployment's keys, and how the checksum discards look-alikes offline (see docs/operations/leaks.md)",
    )
    .addOption(keyPrefixOption())
    .option('--gitleaks', 'print a gitleaks rule (TOML) instead')
    .addOption(jsonOption())
    .action((flags: { keyPrefix?: string; gitleaks?: boolean; json?: boolean }) => {
      const format = keyFormat(keyPrefixOf(io, flags.keyPrefix));
      const pattern = keyPattern(format);
      if (flags.gitleaks && flags.json)
        io.stdout.write(jsonLine({ ...pattern, gitleaks: gitleaksRule(format) }));
      else if (flags.gitleaks) io.stdout.write(gitleaksRule(format));
      else if (flags.json) io.stdout.write(jsonLine(pattern));
      else {
        io.stdout.write(
          [
            pattern.regex,
            '',
            `prefix:   ${pattern.prefix}`,
            `length:   ${pattern.length} characters`,
            `checksum: CRC-32 (zlib) of ${pattern.checksum.input};`,
            `          ${pattern.checksum.encoding}`,
            '',
          ].join('\n'),
        );
      }
    });
}
