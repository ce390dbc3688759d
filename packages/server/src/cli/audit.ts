import { isKeyId, KeyNotFoundError } from '@keyward/keys';
import type { Command } from 'commander';
import type { CliIO } from './io.js';
import { dbOption, jsonOption, parseCount, withManager } from './options.js';
import { auditJson, auditTable, jsonLine } from './render.js';

/** `keyward audit`. */
export function registerAudit(program: Command, io: CliIO): void {
  program
    .command('audit')
    .description('read the audit log of administrative changes, newest first (never keys or hashes)')
    .option('--key <id>', 'only changes to this key')
    .option('--limit <n>', 'entries to show (1-1000)', parseCount(1, 1000), 50)
    .option('--before <seq>', 'only entries older than this sequence number (paging)', parseCount(1, 2 ** 53))
    .addOption(dbOption())
    .addOption(jsonOption())
    .action((flags: { key?: string; limit: number; before?: number; db?: string; json?: boolean }) => {
      if (flags.key !== undefined && !isKeyId(flags.key)) throw new KeyNotFoundError(flags.key);
      return withManager(io, flags.db, async (m) => {
        const entries = await m.audit({ keyId: flags.key, limit: flags.limit, before: flags.before });
        if (flags.json) io.stdout.write(jsonLine({ entries: entries.map(auditJson) }));
        else io.stdout.write(entries.length ? `${auditTable(entries)}\n` : 'no audit entries\n');
      });
    });
}
