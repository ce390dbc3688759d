import type { OwnerRecord, OwnerSettings, RateLimit } from '@keyward/keys';
import { checkTimeZone, KeyInputError, nextRefill, parseRefill } from '@keyward/keys';
import type { Command } from 'commander';
import { Option } from 'commander';
import type { CliIO } from './io.js';
import {
  dbOption,
  jsonOption,
  parseCount,
  parseDurationArg,
  parseMetadataArg,
  parseRateLimitArg,
  parser,
  withManager,
} from './options.js';
import { iso, jsonLine, printable, restrictionLines, table } from './render.js';
import { addRestrictionOptions, type RestrictionFlags, restrictionSettings } from './restriction-options.js';

interface OwnerFlags extends RestrictionFlags {
  rateLimit?: RateLimit | false;
  credits?: number | false;
  refill?: { amount: number; period: 'day' | 'month' } | false;
  refillDay?: number;
  timezone?: string;
  metadata?: Record<string, unknown>;
  maxLifetime?: number | false;
  db?: string;
  json?: boolean;
}

const CREDITS = parseCount(0, Number.MAX_SAFE_INTEGER);

function settingsOf(flags: OwnerFlags): Partial<OwnerSettings> {
  const s: Partial<OwnerSettings> = {};
  if (flags.rateLimit !== undefined) s.rateLimit = flags.rateLimit === false ? null : flags.rateLimit;
  if (flags.credits !== undefined) s.credits = flags.credits === false ? null : flags.credits;
  if (flags.refill !== undefined) s.refill = flags.refill === false ? null : flags.refill;
  if (flags.refillDay !== undefined) s.refillDay = flags.refillDay;
  if (flags.timezone !== undefined) s.timeZone = flags.timezone;
  if (flags.metadata !== undefined) s.metadata = flags.metadata;
  if (flags.maxLifetime !== undefined) s.maxLifetime = flags.maxLifetime === false ? null : flags.maxLifetime;
  return Object.assign(s, restrictionSettings(flags));
}

/** An owner as scripts read it: ISO dates, and when its credits refill next. */
export function ownerJson(o: OwnerRecord, now = Date.now()): Record<string, unknown> {
  return {
    name: o.name,
    rateLimit: o.rateLimit,
    credits: o.credits,
    refill: o.refill,
    nextRefillAt: o.refill === null ? null : new Date(nextRefill(o.refill, now)).toISOString(),
    metadata: o.metadata,
    maxLifetimeMs: o.maxLifetimeMs,
    restrictions: o.restrictions,
    createdAt: iso(o.createdAt),
    updatedAt: iso(o.updatedAt),
  };
}

const rate = (r: RateLimit | null) => (r ? `${r.limit} per ${r.windowSeconds}s` : '-');
const refillText = (o: OwnerRecord) =>
  o.refill === null
    ? '-'
    : `${o.refill.amount}/${o.refill.period}${o.refill.day === null ? '' : ` on day ${o.refill.day}`} (${o.refill.timeZone})`;
const days = (ms: number | null) =>
  ms === null ? '-' : ms % 86_400_000 === 0 ? `${ms / 86_400_000}d` : `${ms} ms`;

function describeOwner(o: OwnerRecord, now = Date.now()): string {
  const lines: [string, string][] = [
    ['name', o.name],
    ['rate limit', rate(o.rateLimit)],
    ['credits', o.credits === null ? 'unlimited' : String(o.credits)],
    ['refill', refillText(o)],
    ['next refill', o.refill === null ? '-' : new Date(nextRefill(o.refill, now)).toISOString()],
    ['max lifetime', days(o.maxLifetimeMs)],
    ...restrictionLines(o.restrictions),
    ['metadata', JSON.stringify(o.metadata)],
    ['created', o.createdAt.toISOString()],
    ['updated', o.updatedAt.toISOString()],
  ];
  return table(lines.map(([k, v]) => [`${k}:`, v]));
}

function ownersTable(owners: readonly OwnerRecord[]): string {
  const rows = owners.map((o) => [
    o.name,
    rate(o.rateLimit),
    o.credits === null ? 'unlimited' : String(o.credits),
    refillText(o),
    days(o.maxLifetimeMs),
  ]);
  return table([['NAME', 'RATE LIMIT', 'CREDITS', 'REFILL', 'MAX LIFETIME'], ...rows]);
}

const refillOption = () =>
  new Option(
    '--refill <n/period>',
    'refill the credits to n every day or month, e.g. 1000/day, 1000/month',
  ).argParser(parser(parseRefill));
const refillDayOption = () =>
  new Option(
    '--refill-day <day>',
    'monthly refills: day of the month (1-31; 31 = last day of shorter months)',
  ).argParser(parseCount(1, 31));
const timezoneOption = () =>
  new Option(
    '--timezone <zone>',
    'IANA time zone of the refill calendar, e.g. Europe/Berlin (default UTC)',
  ).argParser(parser(checkTimeZone));

/** `keyward owners ...`: the clients keys belong to, with shared rate limits and credits. */
export function registerOwners(program: Command, io: CliIO): void {
  const owners = program
    .command('owners')
    .description('manage owners: clients whose keys share one rate limit and one credit balance');
  const out = (value: unknown) => io.stdout.write(jsonLine(value));

  addRestrictionOptions(
    owners
      .command('create')
      .description('create an owner (then: keyward keys create --owner NAME)')
      .argument('<name>', 'unique name, e.g. acme')
      .addOption(
        new Option('--rate-limit <rate>', 'requests per window shared by all its keys, e.g. 100/1m')
          .env('KEYWARD_OWNER_RATE_LIMIT')
          .argParser(parseRateLimitArg),
      )
      .addOption(
        new Option('--credits <n>', 'credits shared by its keys (default: unlimited, or the refill amount)')
          .env('KEYWARD_OWNER_CREDITS')
          .argParser(CREDITS),
      )
      .addOption(refillOption().env('KEYWARD_OWNER_REFILL'))
      .addOption(refillDayOption().env('KEYWARD_OWNER_REFILL_DAY'))
      .addOption(timezoneOption().env('KEYWARD_OWNER_TIMEZONE'))
      .addOption(
        new Option('--max-lifetime <duration>', 'its keys may live at most this long, e.g. 90d')
          .env('KEYWARD_OWNER_MAX_LIFETIME')
          .argParser(parseDurationArg),
      )
      .option('--metadata <json>', 'a JSON object kept with the owner', parseMetadataArg),
    'create',
    'KEYWARD_OWNER_',
  )
    .addOption(dbOption())
    .addOption(jsonOption())
    .action((name: string, flags: OwnerFlags) =>
      withManager(io, flags.db, async (m) => {
        const owner = await m.createOwner({ ...settingsOf(flags), name });
        if (flags.json) out(ownerJson(owner));
        else io.stdout.write(`created owner ${printable(owner.name)}\n`);
      }),
    );

  owners
    .command('list')
    .description('list owners in name order, with their credits as of now')
    .option('--limit <n>', 'page size (1-1000)', parseCount(1, 1000), 100)
    .option('--cursor <cursor>', 'the next page, as printed after a full page')
    .addOption(dbOption())
    .addOption(jsonOption())
    .action((flags: { limit: number; cursor?: string; db?: string; json?: boolean }) =>
      withManager(io, flags.db, async (m) => {
        const page = await m.listOwners({ limit: flags.limit, cursor: flags.cursor });
        if (flags.json)
          return void out({ owners: page.items.map((o) => ownerJson(o)), nextCursor: page.nextCursor });
        io.stdout.write(page.items.length ? `${ownersTable(page.items)}\n` : 'no owners\n');
        if (page.nextCursor) io.stderr.write(`more: --cursor ${page.nextCursor}\n`);
      }),
    );

  owners
    .command('show')
    .description('show one owner, with its credits as of now and its next refill')
    .argument('<name>', 'owner name')
    .addOption(dbOption())
    .addOption(jsonOption())
    .action((name: string, flags: { db?: string; json?: boolean }) =>
      withManager(io, flags.db, async (m) => {
        const owner = await m.getOwner(name);
        if (flags.json) out(ownerJson(owner));
        else io.stdout.write(`${describeOwner(owner)}\n`);
      }),
    );

  addRestrictionOptions(
    owners
      .command('update')
      .description('change an owner; takes effect at once, also in running servers')
      .argument('<name>', 'owner name')
      .option(
        '--rate-limit <rate>',
        'requests per window shared by all its keys, e.g. 100/1m',
        parseRateLimitArg,
      )
      .option('--no-rate-limit', 'remove the shared rate limit')
      .option('--credits <n>', 'set the credit balance', CREDITS)
      .option('--no-credits', 'unlimited credits')
      .addOption(refillOption())
      .option('--no-refill', 'stop refilling')
      .addOption(refillDayOption())
      .addOption(timezoneOption())
      .option('--max-lifetime <duration>', 'its keys may live at most this long, e.g. 90d', parseDurationArg)
      .option('--no-max-lifetime', 'no maximum lifetime of its own')
      .option('--metadata <json>', 'replace the metadata (a JSON object)', parseMetadataArg),
    'update',
  )
    .addOption(dbOption())
    .addOption(jsonOption())
    .action((name: string, flags: OwnerFlags) =>
      withManager(io, flags.db, async (m) => {
        const settings = settingsOf(flags);
        if (Object.keys(settings).length === 0) {
          throw new KeyInputError('nothing to update: give at least one option (see --help)');
        }
        const owner = await m.updateOwner(name, settings);
        if (flags.json) out(ownerJson(owner));
        else io.stdout.write(`updated owner ${printable(owner.name)}\n`);
      }),
    );

  owners
    .command('delete')
    .description('delete an owner; refused while it has keys that are not revoked, unless --force')
    .argument('<name>', 'owner name')
    .option('--force', 'also revoke its keys, in the same step')
    .addOption(dbOption())
    .addOption(jsonOption())
    .action((name: string, flags: { force?: boolean; db?: string; json?: boolean }) =>
      withManager(io, flags.db, async (m) => {
        const owner = await m.deleteOwner(name, { force: flags.force === true });
        if (flags.json) out(ownerJson(owner));
        else io.stdout.write(`deleted owner ${printable(owner.name)}\n`);
      }),
    );

  registerPolicy(program, io);
}

/** `keyward policy ...`: store-wide key policies. */
function registerPolicy(program: Command, io: CliIO): void {
  const policy = program.command('policy').description('store-wide key policies (maximum key lifetime)');
  const print = (ms: number | null, json?: boolean): void => {
    io.stdout.write(
      json ? jsonLine({ maxLifetimeMs: ms }) : `max lifetime: ${ms === null ? 'none' : days(ms)}\n`,
    );
  };
  policy
    .command('show')
    .description('show the store-wide policies')
    .addOption(dbOption())
    .addOption(jsonOption())
    .action((flags: { db?: string; json?: boolean }) =>
      withManager(io, flags.db, async (m) => print(await m.maxLifetime(), flags.json)),
    );
  policy
    .command('set')
    .description('set store-wide policies: keys cannot be created or extended beyond the maximum lifetime')
    .addOption(
      new Option('--max-lifetime <duration>', 'longest key lifetime, e.g. 90d')
        .env('KEYWARD_MAX_KEY_LIFETIME')
        .argParser(parseDurationArg),
    )
    .option('--no-max-lifetime', 'no maximum lifetime')
    .addOption(dbOption())
    .addOption(jsonOption())
    .action((flags: { maxLifetime?: number | false; db?: string; json?: boolean }) => {
      if (flags.maxLifetime === undefined)
        throw new KeyInputError('give --max-lifetime or --no-max-lifetime');
      return withManager(io, flags.db, async (m) =>
        print(await m.setMaxLifetime(flags.maxLifetime === false ? null : flags.maxLifetime!), flags.json),
      );
    });
}
