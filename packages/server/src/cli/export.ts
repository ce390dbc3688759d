import { eachKey } from '@keyward/keys';
import type { Command } from 'commander';
import { addFilterOptions, type FilterFlags, filterOf } from './filters.js';
import { type CliIO, writeOut } from './io.js';
import { dbOption, envFlag, jsonOption, withManager } from './options.js';
import { jsonLine, recordJson } from './render.js';

/** Records per store read: memory stays at one page, whatever the number of keys. */
const PAGE = 1000;

/**
 * `keyward keys export`: every key record (never a key or a hash), streamed page by page
 * and written as stdout drains, so a million keys need no more memory than a thousand.
 */
export function registerExport(keys: Command, io: CliIO): void {
  const command = keys
    .command('export')
    .description(
      'write every key record (never the keys) to stdout, streamed: one JSON document {"keys":[...]} or, with --jsonl, one record per line',
    )
    .option('--owner <id>', 'only keys of this client')
    .addOption(envFlag('--jsonl', 'one JSON record per line (JSON Lines)', 'KEYWARD_JSONL'));
  addFilterOptions(command)
    .addOption(dbOption())
    .addOption(jsonOption())
    .action((flags: FilterFlags & { owner?: string; jsonl?: boolean; db?: string }) =>
      withManager(io, flags.db, async (m) => {
        const records = eachKey(m, { owner: flags.owner, pageSize: PAGE, filter: filterOf(flags) });
        if (flags.jsonl) {
          for await (const record of records) await writeOut(io, jsonLine(recordJson(record)));
          return;
        }
        let first = true;
        await writeOut(io, '{"keys":[');
        for await (const record of records) {
          const line = jsonLine(recordJson(record)).trimEnd();
          await writeOut(io, first ? `\n${line}` : `,\n${line}`);
          first = false;
        }
        await writeOut(io, first ? ']}\n' : '\n]}\n');
      }),
    );
}
