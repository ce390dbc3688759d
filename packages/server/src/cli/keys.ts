import { createInterface } from 'node:readline';
import type { KeyManager, KeyRecord, KeySettings, RateLimit } from '@keyward/keys';
import {
  filteredPage,
  isEmptyKeyFilter,
  isKeyId,
  isStale,
  KeyInputError,
  KeyNotFoundError,
} from '@keyward/keys';
import type { Command } from 'commander';
import { registerExport } from './export.js';
import { addFilterOptions, type FilterFlags, filterOf } from './filters.js';
import { registerImport } from './import.js';
import type { CliIO } from './io.js';
import {
  dbOption,
  envFlag,
  jsonOption,
  parseCount,
  parseDurationArg,
  parseMetadataArg,
  parseRateLimitArg,
  parseScopesArg,
  withManager,
} from './options.js';
import { registerPattern } from './pattern.js';
import { describeRecord, jsonLine, listTable, printable, recordJson } from './render.js';
import { addRestrictionOptions, type RestrictionFlags, restrictionSettings } from './restriction-options.js';
import { styleFor } from './style.js';
import { registerVerify } from './verify.js';

interface SettingsFlags extends RestrictionFlags {
  name?: string;
  owner?: string | false;
  scopes?: readonly string[];
  expires?: number | false;
  uses?: number | false;
  credits?: number | false;
  rateLimit?: RateLimit | false;
  metadata?: Record<string, unknown>;
  db?: string;
  json?: boolean;
}

function settingsOf(flags: SettingsFlags): Partial<KeySettings> {
  const s: Partial<KeySettings> = {};
  if (flags.name !== undefined) s.name = flags.name;
  if (flags.owner !== undefined) s.owner = flags.owner === false ? null : flags.owner;
  if (flags.scopes !== undefined) s.scopes = flags.scopes;
  if (flags.expires === false) s.expiresAt = null;
  else if (flags.expires !== undefined) s.expiresIn = flags.expires;
  const uses = flags.credits ?? flags.uses;
  if (flags.credits !== undefined && flags.uses !== undefined) {
    throw new KeyInputError('give --credits or --uses (the same thing), not both');
  }
  if (uses !== undefined) s.uses = uses === false ? null : uses;
  if (flags.rateLimit !== undefined) s.rateLimit = flags.rateLimit === false ? null : flags.rateLimit;
  if (flags.metadata !== undefined) s.metadata = flags.metadata;
  return Object.assign(s, restrictionSettings(flags));
}

const USES = parseCount(0, Number.MAX_SAFE_INTEGER);
/** Keys `disableStale` would disable now: enabled, not revoked, unused (or created, never used) before the cutoff. */
async function staleKeys(m: KeyManager, unusedForMs: number): Promise<KeyRecord[]> {
  await m.flush();
  const cutoff = new Date(Date.now() - unusedForMs);
  const found: KeyRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await m.list({ limit: 1000, cursor });
    for (const r of page.items) {
      if (isStale(r, cutoff)) found.push(r);
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return found;
}

/**
 * Checks an id argument before anything is opened: a key pasted in its place is refused
 * without being repeated, and without creating a database in the current folder.
 */
function withKey<T>(io: CliIO, id: string, db: string | undefined, fn: (m: KeyManager) => Promise<T>) {
  if (!isKeyId(id)) throw new KeyNotFoundError(id);
  return withManager(io, db, fn);
}

function showKeyOnce(io: CliIO, key: string, intro: string): void {
  io.stderr.write(`${intro}\nThis is the only time the key is shown. Store it now:\n`);
  io.stdout.write(`${key}\n`);
}

/** `keyward keys ...`. */
export function registerKeys(program: Command, io: CliIO): void {
  const keys = program.command('keys').description('issue and manage per-client API keys');
  const out = (value: unknown) => io.stdout.write(jsonLine(value));
  const done = (record: KeyRecord, verb: string, json?: boolean) =>
    json ? out(recordJson(record)) : io.stdout.write(`${verb} ${record.id} (${printable(record.name)})\n`);

  addRestrictionOptions(
    keys
      .command('create')
      .description('issue a key; it is printed once (stdout) and only its keyed hash is stored')
      .requiredOption('--name <name>', 'what the key is for')
      .option('--owner <name>', 'the owner it belongs to (must exist: keyward owners create)')
      .option('--scopes <list>', 'comma-separated scopes, e.g. read,admin', parseScopesArg)
      .option('--expires <duration>', 'lifetime: 30s, 15m, 24h, 30d', parseDurationArg)
      .option('--uses <n>', 'number of requests it may serve', USES)
      .option('--credits <n>', 'credits it may spend (routes may cost more than 1; same as --uses)', USES)
      .option('--rate-limit <rate>', 'requests per window, e.g. 100/1m', parseRateLimitArg)
      .option('--metadata <json>', 'a JSON object kept with the key', parseMetadataArg),
    'create',
  )
    .addOption(dbOption())
    .addOption(jsonOption())
    .action((flags: SettingsFlags & { name: string }) =>
      withManager(
        io,
        flags.db,
        async (m) => {
          const { key, record } = await m.create({ ...settingsOf(flags), name: flags.name });
          if (flags.json) return void out({ key, ...recordJson(record) });
          showKeyOnce(io, key, `Created key ${record.id} (${printable(record.name)}).`);
        },
        { create: true },
      ),
    );

  const list = keys
    .command('list')
    .description('list keys in creation order (never the keys themselves)')
    .option('--owner <id>', 'only keys of this client')
    .option('--limit <n>', 'page size (1-1000)', parseCount(1, 1000), 100)
    .option('--cursor <cursor>', 'the next page, as printed after a full page');
  addFilterOptions(list)
    .addOption(dbOption())
    .addOption(jsonOption())
    .action(
      (
        flags: FilterFlags & { owner?: string; limit: number; cursor?: string; db?: string; json?: boolean },
      ) =>
        withManager(io, flags.db, async (m) => {
          const filter = filterOf(flags);
          const query = { owner: flags.owner, limit: flags.limit, cursor: flags.cursor };
          const page = isEmptyKeyFilter(filter)
            ? await m.list(query)
            : await filteredPage(m, { ...query, filter });
          if (flags.json)
            return void out({ keys: page.items.map((r) => recordJson(r)), nextCursor: page.nextCursor });
          const style = styleFor(io.stdout, io.env);
          io.stdout.write(page.items.length ? `${listTable(page.items, Date.now(), style)}\n` : 'no keys\n');
          if (page.nextCursor) io.stderr.write(`more: --cursor ${page.nextCursor}\n`);
        }),
    );

  keys
    .command('show')
    .description('show one key')
    .argument('<id>', 'key id')
    .addOption(dbOption())
    .addOption(jsonOption())
    .action((id: string, flags: { db?: string; json?: boolean }) =>
      withKey(io, id, flags.db, async (m) => {
        const record = await m.get(id);
        if (flags.json) out(recordJson(record));
        else io.stdout.write(`${describeRecord(record)}\n`);
      }),
    );

  addRestrictionOptions(
    keys
      .command('update')
      .description('change a key; takes effect at once, also in running servers')
      .argument('<id>', 'key id')
      .option('--name <name>', 'new name')
      .option('--owner <id>', 'new owner')
      .option('--no-owner', 'remove the owner')
      .option('--scopes <list>', 'replace the scopes (comma-separated; "" for none)', parseScopesArg)
      .option('--expires <duration>', 'expire this long from now', parseDurationArg)
      .option('--no-expires', 'never expire')
      .option('--uses <n>', 'set the remaining uses', USES)
      .option('--no-uses', 'unlimited uses')
      .option('--credits <n>', 'set the credits left (same as --uses)', USES)
      .option('--no-credits', 'unlimited credits (same as --no-uses)')
      .option('--rate-limit <rate>', 'requests per window, e.g. 100/1m', parseRateLimitArg)
      .option('--no-rate-limit', 'remove the rate limit')
      .option('--metadata <json>', 'replace the metadata (a JSON object)', parseMetadataArg),
    'update',
  )
    .addOption(dbOption())
    .addOption(jsonOption())
    .action((id: string, flags: SettingsFlags) =>
      withKey(io, id, flags.db, async (m) => {
        const settings = settingsOf(flags);
        if (Object.keys(settings).length === 0) {
          throw new KeyInputError('nothing to update: give at least one option (see --help)');
        }
        done(await m.update(id, settings), 'updated', flags.json);
      }),
    );

  keys
    .command('disable')
    .description(
      'stop a key from working until it is enabled again; or, with --stale, every key unused that long',
    )
    .argument('[id]', 'key id')
    .option(
      '--stale <duration>',
      'disable every key unused (or, never used, created) this long ago, e.g. 90d',
      parseDurationArg,
    )
    .option('--yes', 'with --stale: do it (without, the keys are only listed)')
    .addOption(dbOption())
    .addOption(jsonOption())
    .action(
      (id: string | undefined, flags: { stale?: number; yes?: boolean; db?: string; json?: boolean }) => {
        if (flags.stale === undefined) {
          if (id === undefined) throw new KeyInputError('give a key id, or --stale DURATION');
          return withKey(io, id, flags.db, async (m) => {
            done(await m.disable(id), 'disabled', flags.json);
          });
        }
        if (id !== undefined) throw new KeyInputError('give a key id or --stale, not both');
        const stale = flags.stale;
        return withManager(io, flags.db, async (m) => {
          if (!flags.yes) {
            const found = await staleKeys(m, stale);
            if (flags.json) return void out({ disabled: false, keys: found.map((r) => recordJson(r)) });
            io.stdout.write(found.length ? `${listTable(found)}\n` : 'no stale keys\n');
            if (found.length)
              io.stderr.write(`${found.length} key(s) would be disabled: add --yes to disable them\n`);
            return;
          }
          const disabled = await m.disableStale(stale);
          if (flags.json) return void out({ disabled: true, keys: disabled.map((r) => recordJson(r)) });
          io.stdout.write(`disabled ${disabled.length} stale key(s)\n`);
        });
      },
    );

  for (const [verb, past, what] of [
    ['enable', 'enabled', 'let a disabled key work again (a revoked key stays revoked)'],
    ['revoke', 'revoked', 'revoke a key for good, effective at once'],
  ] as const) {
    keys
      .command(verb)
      .description(what)
      .argument('<id>', 'key id')
      .addOption(dbOption())
      .addOption(jsonOption())
      .action((id: string, flags: { db?: string; json?: boolean }) =>
        withKey(io, id, flags.db, async (m) => {
          done(await m[verb](id), past, flags.json);
        }),
      );
  }

  keys
    .command('delete')
    .description(
      'remove a key (its audit history stays; prefer revoke); asks on a terminal, needs --yes otherwise',
    )
    .argument('<id>', 'key id')
    .addOption(envFlag('-y, --yes', 'delete without asking (required when not on a terminal)', 'KEYWARD_YES'))
    .addOption(dbOption())
    .addOption(jsonOption())
    .action((id: string, flags: { yes?: boolean; db?: string; json?: boolean }) =>
      withKey(io, id, flags.db, async (m) => {
        const record = await m.get(id);
        if (!flags.yes) await confirmDelete(io, record);
        done(await m.delete(id), 'deleted', flags.json);
      }),
    );

  keys
    .command('rotate')
    .description(
      'issue a successor with the same settings (or, --in-place, a new secret for the same key); the old key works for the grace period',
    )
    .argument('<id>', 'key id')
    .option('--grace <duration>', 'how long the old key keeps working (0: revoke it now)', parseDurationArg)
    .option('--in-place', 'keep the key (id, settings, limits, history); replace only its secret')
    .addOption(dbOption())
    .addOption(jsonOption())
    .action((id: string, flags: { grace?: number; inPlace?: boolean; db?: string; json?: boolean }) =>
      withKey(io, id, flags.db, async (m) => {
        if (flags.inPlace) {
          const { key, record } = await m.rotateInPlace(id, { grace: flags.grace ?? '24h' });
          if (flags.json) return void out({ key, ...recordJson(record) });
          const grace = flags.grace ?? 86_400_000;
          const until =
            grace === 0
              ? 'The old secret is refused from now on.'
              : `The old secret works for ${grace / 1000}s more.`;
          return showKeyOnce(io, key, `Rotated ${id} in place (same id and settings). ${until}`);
        }
        const { key, record, previous } = await m.rotate(id, { grace: flags.grace ?? '24h' });
        if (flags.json) return void out({ key, ...recordJson(record), previous: recordJson(previous) });
        const until = rotationNote(previous);
        showKeyOnce(io, key, `Rotated ${id} to ${record.id}. ${until}`);
      }),
    );

  registerImport(keys, io);
  registerVerify(keys, io);
  registerExport(keys, io);
  registerPattern(keys, io);
}

/** What is true of the old key after a rotation: revoked, out of uses, or working until the grace ends. */
export function rotationNote(previous: KeyRecord): string {
  if (previous.revokedAt) return 'The old key is revoked.';
  if (previous.remainingUses === 0) {
    return 'The old key has no uses left (its remaining uses moved to the new key), so it no longer works.';
  }
  return `The old key works until ${previous.expiresAt!.toISOString()}.`;
}

/**
 * Asks before a delete on a terminal; elsewhere (scripts, pipes) a delete needs `--yes`.
 * Anything but "y" or "yes" cancels (exit 2).
 */
async function confirmDelete(io: CliIO, record: KeyRecord): Promise<void> {
  if (io.stdin.isTTY !== true || io.stderr.isTTY !== true) {
    throw new KeyInputError(
      `refusing to delete ${record.id} without confirmation: not on a terminal, add --yes (or KEYWARD_YES=1)`,
    );
  }
  const rl = createInterface({
    input: io.stdin,
    output: io.stderr as NodeJS.WritableStream,
    terminal: false,
  });
  try {
    const answer: string = await new Promise((resolve) => {
      rl.once('close', () => resolve(''));
      rl.question(
        `Delete key ${record.id} (${printable(record.name)}) for good? Its audit history stays. [y/N] `,
        resolve,
      );
    });
    if (!/^\s*y(es)?\s*$/i.test(answer)) throw new KeyInputError('not deleted');
  } finally {
    rl.close();
  }
}
