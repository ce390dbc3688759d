import type { KeyManager, UsageGranularity, UsageReport, UsageRetention, UsageTop } from '@keyward/keys';
import { isKeyId, KeyNotFoundError, parseDuration } from '@keyward/keys';
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import type { CliIO } from './io.js';
import { dbOption, jsonOption, parseCount, withManager } from './options.js';
import { jsonLine, printable, table } from './render.js';

const BARS = '▁▂▃▄▅▆▇█';
/** The widest chart drawn: longer series are summed into this many columns. */
const CHART_WIDTH = 60;

/**
 * A point in time given as text: a duration back from now (`24h`, `7d`) or an ISO 8601
 * time. Answered as ms since 1970.
 */
export function parseTime(value: string, now = Date.now()): number {
  const text = value.trim();
  if (/^\d+[smhd]$/.test(text)) return now - parseDuration(text);
  const ms = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new InvalidArgumentError('must be a duration back from now (24h, 7d) or an ISO 8601 time');
  }
  return ms;
}

const timeArg = (value: string) => parseTime(value);

function parseRetention(value: string): UsageRetention {
  const parts = value.split(',').map((s) => s.trim());
  if (parts.length !== 3) {
    throw new InvalidArgumentError('must be three durations: minutes,hours,days (e.g. 48h,90d,400d)');
  }
  const [minute, hour, day] = parts.map((p) => {
    const ms = parseDuration(p);
    if (ms < 60_000) throw new InvalidArgumentError('each retention must be at least 1m');
    return ms;
  });
  return { minute, hour, day };
}

/** `serve --no-analytics`. */
export const analyticsOption = () =>
  new Option(
    '--no-analytics',
    'do not count verification outcomes per key, owner and deployment (keyward usage)',
  ).env('KEYWARD_NO_ANALYTICS');

/** `serve --analytics-retention`. */
export const retentionOption = () =>
  new Option('--analytics-retention <minutes,hours,days>', 'how long usage minutes, hours and days are kept')
    .env('KEYWARD_ANALYTICS_RETENTION')
    .default(undefined, '48h,90d,400d')
    .argParser(parseRetention);

interface UsageFlags {
  key?: string;
  owner?: string;
  since?: number;
  until?: number;
  granularity?: UsageGranularity;
  db?: string;
  json?: boolean;
}

interface TopFlags {
  since?: number;
  until?: number;
  by: 'valid' | 'refused';
  limit: number;
  owners?: boolean;
  db?: string;
  json?: boolean;
}

const day = (iso: string) => iso.slice(0, 10);
/** A period start as read on a terminal: the day, the hour or the minute. */
function label(iso: string, granularity: UsageGranularity): string {
  return granularity === 'day' ? day(iso) : `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
}

/** One bar per column; an empty period is a blank, any count at least the lowest bar. */
export function sparkline(values: readonly number[]): string {
  const max = Math.max(0, ...values);
  return values
    .map((v) => (v <= 0 ? ' ' : BARS[Math.min(BARS.length - 1, Math.ceil((v / max) * BARS.length) - 1)]))
    .join('');
}

/** Sums consecutive values into at most `width` columns. */
function fit(values: readonly number[], width: number): number[] {
  if (values.length <= width) return [...values];
  const per = Math.ceil(values.length / width);
  const out: number[] = [];
  for (let i = 0; i < values.length; i += per) out.push(values.slice(i, i + per).reduce((a, b) => a + b, 0));
  return out;
}

function scopeText(report: UsageReport): string {
  const s = report.scope;
  return 'key' in s ? `key ${s.key}` : 'owner' in s ? `owner ${printable(s.owner)}` : 'the deployment';
}

/** A series on a terminal: a heading, one chart per outcome counted, and the totals. */
export function usageText(report: UsageReport): string {
  const g = report.granularity;
  const per = Math.ceil(report.buckets.length / CHART_WIDTH);
  const lines = [
    `Usage of ${scopeText(report)}, per ${g}${per > 1 ? ` (${per} ${g}s a column)` : ''}, ${label(report.since, g)} to ${label(report.until, g)} UTC`,
    '',
  ];
  const counted = Object.entries(report.totals).filter(([, n]) => (n ?? 0) > 0);
  if (counted.length === 0) {
    lines.push('nothing counted in this period');
  } else {
    const width = Math.max(...counted.map(([o]) => o.length));
    for (const [outcome, total] of counted) {
      const values = report.buckets.map(
        (b) => ((b as Record<string, unknown>)[outcome] as number | undefined) ?? 0,
      );
      const chart = sparkline(fit(values, CHART_WIDTH));
      lines.push(`${outcome.padEnd(width)}  ${chart.padEnd(Math.min(CHART_WIDTH, values.length))}  ${total}`);
    }
    const first = report.buckets[0]!.start;
    const last = report.buckets[report.buckets.length - 1]!.start;
    const span = Math.min(CHART_WIDTH, Math.ceil(report.buckets.length / per));
    const left = label(first, g);
    const right = label(last, g);
    lines.push(
      `${' '.repeat(width)}  ${left}${right.padStart(Math.max(right.length + 1, span - left.length))}`,
    );
  }
  const sum = Object.values(report.totals).reduce((a, b) => (a ?? 0) + (b ?? 0), 0) ?? 0;
  const parts = Object.entries(report.totals).map(([o, n]) => `${o} ${n}`);
  lines.push('', `total ${sum}: ${parts.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

/** The busiest keys or owners on a terminal; keys with their names. */
export function topText(top: UsageTop, names: ReadonlyMap<string, string>): string {
  const what = top.group === 'key' ? 'keys' : 'owners';
  const heading = `Busiest ${what} by ${top.by === 'valid' ? 'valid requests' : 'refusals'}, ${label(top.since, top.granularity)} to ${label(top.until, top.granularity)} UTC`;
  if (top.items.length === 0) return `${heading}\n\nnothing counted in this period\n`;
  const rows = top.items.map((item, i) => {
    const id = 'key' in item ? item.key : item.owner;
    return [
      String(i + 1),
      id,
      ...(top.group === 'key' ? [names.get(id) ?? '(deleted)'] : []),
      String(item.valid),
      String(item.refused),
    ];
  });
  const head = ['#', top.group.toUpperCase(), ...(top.group === 'key' ? ['NAME'] : []), 'VALID', 'REFUSED'];
  return `${heading}\n\n${table([head, ...rows])}\n`;
}

async function namesOf(manager: KeyManager, top: UsageTop): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  for (const item of top.items) {
    if (!('key' in item)) continue;
    const record = await manager.store.get(item.key);
    if (record) names.set(item.key, record.name);
  }
  return names;
}

/** `keyward usage` and `keyward usage top`. */
export function registerUsage(program: Command, io: CliIO): void {
  const usage = program
    .command('usage')
    .enablePositionalOptions()
    .description(
      'verification outcomes counted per key, owner or for the deployment (what keyward serve flushed), as a chart or JSON',
    )
    .addOption(new Option('--key <id>', 'one key').env('KEYWARD_USAGE_KEY').conflicts('owner'))
    .addOption(
      new Option('--owner <name>', 'the keys of one owner, as they were when used').env(
        'KEYWARD_USAGE_OWNER',
      ),
    )
    .addOption(
      new Option('--since <time>', 'start: a duration back from now (24h, 7d) or an ISO 8601 time')
        .env('KEYWARD_USAGE_SINCE')
        .default(undefined, '24h before --until')
        .argParser(timeArg),
    )
    .addOption(
      new Option('--until <time>', 'end (exclusive): a duration back from now or an ISO 8601 time')
        .env('KEYWARD_USAGE_UNTIL')
        .default(undefined, 'now')
        .argParser(timeArg),
    )
    .addOption(
      new Option('--granularity <period>', 'period of each bucket')
        .choices(['minute', 'hour', 'day'])
        .env('KEYWARD_USAGE_GRANULARITY')
        .default(undefined, 'minute up to 2h, hour up to 7d, else day'),
    )
    .addOption(dbOption())
    .addOption(jsonOption())
    .action((flags: UsageFlags) => {
      if (flags.key !== undefined && !isKeyId(flags.key)) throw new KeyNotFoundError(flags.key);
      return withManager(io, flags.db, async (m) => {
        const scope =
          flags.key !== undefined
            ? { key: flags.key }
            : flags.owner !== undefined
              ? { owner: flags.owner }
              : {};
        const report = await m.usage({
          ...scope,
          since: flags.since,
          until: flags.until,
          granularity: flags.granularity,
        });
        io.stdout.write(flags.json ? jsonLine(report) : usageText(report));
      });
    });

  usage
    .command('top')
    .description('the busiest keys (or owners) by valid requests or by refusals')
    .addOption(
      new Option('--since <time>', 'start: a duration back from now (7d) or an ISO 8601 time')
        .env('KEYWARD_USAGE_SINCE')
        .default(undefined, '7d')
        .argParser(timeArg),
    )
    .addOption(
      new Option('--until <time>', 'end (exclusive)')
        .env('KEYWARD_USAGE_UNTIL')
        .default(undefined, 'now')
        .argParser(timeArg),
    )
    .addOption(
      new Option('--by <what>', 'rank by valid requests or by refusals')
        .choices(['valid', 'refused'])
        .env('KEYWARD_USAGE_BY')
        .default('valid'),
    )
    .addOption(
      new Option('--limit <n>', 'how many (1-1000)')
        .env('KEYWARD_USAGE_LIMIT')
        .default(20)
        .argParser(parseCount(1, 1000)),
    )
    .addOption(new Option('--owners', 'rank owners instead of keys').env('KEYWARD_USAGE_OWNERS'))
    .addOption(dbOption())
    .addOption(jsonOption())
    .action((flags: TopFlags) =>
      withManager(io, flags.db, async (m) => {
        const top = await m.usageTop({
          since: flags.since,
          until: flags.until,
          by: flags.by,
          limit: flags.limit,
          group: flags.owners ? 'owner' : 'key',
        });
        io.stdout.write(flags.json ? jsonLine(top) : topText(top, await namesOf(m, top)));
      }),
    );
}
