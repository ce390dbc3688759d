import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { KeyFormat } from '@keyward/keys';
import {
  checkImportedKey,
  type ImportItem,
  importPatch,
  KeyInputError,
  KeyStoreError,
  parseImportLine,
} from '@keyward/keys';
import type { Command } from 'commander';
import type { CliIO } from './io.js';
import { dbOption, jsonOption, parseCount, withManager } from './options.js';
import { Progress } from './progress.js';

const SHOWN_ERRORS = 10;

interface Tally {
  lines: number;
  bytes: number;
  invalid: number;
  /** Valid keys read so far (stored or about to be). */
  items: number;
}

/** Valid items of the input; invalid lines are reported by number (never their content) and skipped. */
async function* items(
  lines: AsyncIterable<string>,
  format: KeyFormat,
  tally: Tally,
  report: (line: number, message: string) => void,
): AsyncGenerator<ImportItem> {
  for await (const line of lines) {
    tally.lines++;
    tally.bytes += Buffer.byteLength(line) + 1;
    try {
      const item = parseImportLine(line);
      if (!item) continue;
      checkImportedKey(item.key, format);
      // Settings are checked here too, so one bad line cannot abort a batch.
      importPatch(item, Date.now());
      tally.items++;
      yield item;
    } catch (error) {
      if (!(error instanceof KeyStoreError)) throw error;
      tally.invalid++;
      report(tally.lines, error.message);
    }
  }
}

/** `keyward keys import FILE`. */
export function registerImport(keys: Command, io: CliIO): void {
  keys
    .command('import')
    .description(
      'import plaintext legacy keys (one per line, or JSON lines {"key","name","owner","scopes",...}); stored hashed',
    )
    .argument('<file>', 'input file, or - for stdin')
    .option('--batch <n>', 'keys per transaction', parseCount(1, 100_000), 20_000)
    .addOption(dbOption())
    .addOption(jsonOption())
    .action(async (file: string, flags: { batch: number; db?: string; json?: boolean }) => {
      const tally: Tally = { lines: 0, bytes: 0, invalid: 0, items: 0 };
      // The summary is printed once the store is closed, i.e. once the import is durable.
      const result = await withManager(
        io,
        flags.db,
        async (m) => {
          let total: number | undefined;
          let input: NodeJS.ReadableStream;
          if (file === '-') {
            input = io.stdin;
          } else {
            try {
              total = statSync(file).size;
            } catch (error) {
              // Not the argument itself: a key pasted in place of the file name would be printed.
              throw new KeyInputError(
                `cannot read the input file: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
              );
            }
            input = createReadStream(file, { encoding: 'utf8' });
          }
          const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
          const report = (line: number, message: string) => {
            if (tally.invalid <= SHOWN_ERRORS) io.stderr.write(`keyward: line ${line}: ${message}\n`);
          };
          const progress = new Progress(io.stderr);
          // The keys in the input, estimated from the keys per byte read so far.
          const estimate = () =>
            total !== undefined && tally.bytes > 0 ? (tally.items / tally.bytes) * total : undefined;
          const imported = await m.importKeys(items(lines, m.format, tally, report), {
            batchSize: flags.batch,
            onProgress: (p) => progress.update(p.processed, estimate()),
          });
          progress.done(imported.imported + imported.duplicates);
          return imported;
        },
        { create: true },
      );
      const summary = { ...result, invalid: tally.invalid };
      if (flags.json) io.stdout.write(`${JSON.stringify(summary)}\n`);
      else {
        io.stdout.write(
          `imported ${result.imported} keys; ${result.duplicates} already stored; ${tally.invalid} invalid lines skipped\n`,
        );
      }
      if (tally.invalid > 0) {
        if (tally.invalid > SHOWN_ERRORS)
          io.stderr.write(`keyward: ... ${tally.invalid - SHOWN_ERRORS} more\n`);
        throw new KeyInputError(`${tally.invalid} invalid lines were skipped (the valid ones were imported)`);
      }
    });
}
