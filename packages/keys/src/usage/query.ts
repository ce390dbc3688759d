import { KeyInputError, notAKeyId } from '../domain/errors.js';
import { isKeyId } from '../domain/ids.js';
import { checkLabel } from '../domain/input.js';
import {
  DEPLOYMENT_SCOPE,
  KEY_OUTCOME_COUNT,
  KEY_OUTCOMES,
  type KeyUsageOutcome,
  keyScope,
  OUTCOME_COUNT,
  ownerScope,
  periodMs,
  periodStart,
  USAGE_OUTCOMES,
  type UsageBucket,
  type UsageCounts,
  type UsageGranularity,
  type UsageQuery,
  type UsageRank,
  type UsageRanked,
  type UsageRead,
  type UsageReport,
  type UsageScope,
  type UsageScopeKey,
  type UsageSeriesSet,
  type UsageTop,
  type UsageTopQuery,
} from './model.js';

/** The most periods one series may have: 48 hours of minutes, 90 days of hours, 400 days fit. */
export const MAX_BUCKETS = 10_000;
/** The most keys `usageMany` reads in one call. */
export const MAX_SERIES = 1000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** A time given as a Date, ISO text or ms, checked. */
function timeOf(value: Date | string | number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  const ms = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Date.parse(value);
  if (!Number.isFinite(ms) || ms < 0 || ms > 8.64e15) {
    throw new KeyInputError(`${what} must be a date (ISO 8601 text, a Date or ms since 1970)`);
  }
  return ms;
}

/** The granularity asked for, or the one that suits the range: minutes up to 2 hours, hours up to 7 days. */
function granularityOf(value: unknown, rangeMs: number): UsageGranularity {
  if (value === undefined) return rangeMs <= 2 * HOUR ? 'minute' : rangeMs <= 7 * DAY ? 'hour' : 'day';
  if (value !== 'minute' && value !== 'hour' && value !== 'day') {
    throw new KeyInputError('granularity must be minute, hour or day');
  }
  return value;
}

/** A checked range, aligned to its granularity: `since` rounded down, `until` up. */
export interface UsageRange {
  readonly granularity: UsageGranularity;
  readonly since: number;
  readonly until: number;
}

/** Resolves and checks `since`, `until` and `granularity` against the clock `now`. */
export function usageRange(
  query: { since?: Date | string | number; until?: Date | string | number; granularity?: unknown },
  now: number,
  defaultSpanMs: number,
): UsageRange {
  const until = timeOf(query.until, now, 'until');
  const since = timeOf(query.since, Math.max(0, until - defaultSpanMs), 'since');
  if (since >= until) throw new KeyInputError('since must be before until');
  const granularity = granularityOf(query.granularity, until - since);
  const length = periodMs(granularity);
  const start = periodStart(since, granularity);
  const end = Math.ceil(until / length) * length;
  if ((end - start) / length > MAX_BUCKETS) {
    throw new KeyInputError(
      `that range holds more than ${MAX_BUCKETS} ${granularity}s: ask for a shorter range or a coarser granularity`,
    );
  }
  return { granularity, since: start, until: end };
}

/** The one scope a query names, checked. */
export function scopeOf(query: UsageQuery): { scope: UsageScope; key: UsageScopeKey; isKey: boolean } {
  const named = [query.key, query.owner, query.deployment].filter((v) => v !== undefined).length;
  if (named > 1) throw new KeyInputError('ask for one of key, owner or deployment');
  if (query.key !== undefined) {
    if (typeof query.key !== 'string' || !isKeyId(query.key)) throw new KeyInputError(notAKeyId(query.key));
    return { scope: { key: query.key }, key: keyScope(query.key), isKey: true };
  }
  if (query.owner !== undefined) {
    const owner = checkLabel(query.owner, 'owner');
    return { scope: { owner }, key: ownerScope(owner), isKey: true };
  }
  if (query.deployment !== undefined && query.deployment !== true) {
    throw new KeyInputError('deployment must be true');
  }
  return { scope: { deployment: true }, key: DEPLOYMENT_SCOPE, isKey: false };
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The read a range asks a store for. */
export function readOf(range: UsageRange, scopes: readonly UsageScopeKey[]): UsageRead {
  return {
    granularity: range.granularity,
    scopes,
    since: new Date(range.since),
    until: new Date(range.until),
  };
}

/**
 * A series as `usage` answers it: every period of the range, each with its non-zero
 * counts; totals of every outcome the scope has (zero included).
 */
export function reportOf(
  scope: UsageScope,
  isKey: boolean,
  range: UsageRange,
  rows: readonly UsageCounts[],
): UsageReport {
  const width = isKey ? KEY_OUTCOME_COUNT : OUTCOME_COUNT;
  const length = periodMs(range.granularity);
  const periods = (range.until - range.since) / length;
  const grid = new Float64Array(periods * width);
  for (const row of rows) {
    const at = (row.start.getTime() - range.since) / length;
    if (!(at >= 0 && at < periods) || !Number.isInteger(at)) continue;
    for (let o = 0; o < width; o++) grid[at * width + o]! += row.counts[o] ?? 0;
  }
  const totals: Record<string, number> = {};
  for (let o = 0; o < width; o++) totals[USAGE_OUTCOMES[o]!] = 0;
  const buckets: UsageBucket[] = new Array(periods);
  for (let p = 0; p < periods; p++) {
    const bucket: Record<string, number | string> = { start: iso(range.since + p * length) };
    for (let o = 0; o < width; o++) {
      const n = grid[p * width + o]!;
      if (n === 0) continue;
      const name = USAGE_OUTCOMES[o]!;
      bucket[name] = n;
      totals[name]! += n;
    }
    buckets[p] = bucket as UsageBucket;
  }
  return {
    scope,
    granularity: range.granularity,
    since: iso(range.since),
    until: iso(range.until),
    totals,
    buckets,
  };
}

/** Checks the key ids of a `usageMany` call. */
export function checkKeyIds(keys: readonly string[]): readonly string[] {
  if (!Array.isArray(keys) || keys.length < 1 || keys.length > MAX_SERIES) {
    throw new KeyInputError(`keys must be a list of 1 to ${MAX_SERIES} key ids`);
  }
  for (const id of keys) if (typeof id !== 'string' || !isKeyId(id)) throw new KeyInputError(notAKeyId(id));
  return [...new Set(keys)];
}

/** Many keys' series in columns (see `UsageSeriesSet`). */
export function seriesSetOf(
  keys: readonly string[],
  range: UsageRange,
  rows: readonly UsageCounts[],
): UsageSeriesSet {
  const length = periodMs(range.granularity);
  const periods = (range.until - range.since) / length;
  const starts = Array.from({ length: periods }, (_, p) => iso(range.since + p * length));
  const byScope = new Map<string, UsageCounts[]>();
  for (const row of rows) {
    const list = byScope.get(row.scope);
    if (list === undefined) byScope.set(row.scope, [row]);
    else list.push(row);
  }
  const series = keys.map((key) => {
    const totals = {} as Record<KeyUsageOutcome, number>;
    for (const o of KEY_OUTCOMES) totals[o] = 0;
    const counts: Partial<Record<KeyUsageOutcome, number[]>> = {};
    for (const row of byScope.get(keyScope(key)) ?? []) {
      const at = (row.start.getTime() - range.since) / length;
      if (!(at >= 0 && at < periods) || !Number.isInteger(at)) continue;
      for (let o = 0; o < KEY_OUTCOME_COUNT; o++) {
        const n = row.counts[o] ?? 0;
        if (n === 0) continue;
        const name = KEY_OUTCOMES[o]!;
        counts[name] ??= new Array<number>(periods).fill(0);
        counts[name][at]! += n;
        totals[name] += n;
      }
    }
    return { key, totals, counts };
  });
  return { granularity: range.granularity, since: iso(range.since), until: iso(range.until), starts, series };
}

/**
 * The rank a `usageTop` query asks a store for: whole periods of the finest granularity
 * kept for the whole range (minutes up to 2 hours, hours up to 48 hours, days beyond).
 */
export function rankOf(query: UsageTopQuery, now: number): UsageRank {
  const until = timeOf(query.until, now, 'until');
  const since = timeOf(query.since, Math.max(0, until - 7 * DAY), 'since');
  if (since >= until) throw new KeyInputError('since must be before until');
  const by = query.by ?? 'valid';
  if (by !== 'valid' && by !== 'refused') throw new KeyInputError('by must be valid or refused');
  const group = query.group ?? 'key';
  if (group !== 'key' && group !== 'owner') throw new KeyInputError('group must be key or owner');
  const limit = query.limit ?? 20;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new KeyInputError('limit must be a whole number from 1 to 1000');
  }
  const span = until - since;
  const granularity: UsageGranularity = span <= 2 * HOUR ? 'minute' : span <= 48 * HOUR ? 'hour' : 'day';
  const length = periodMs(granularity);
  return {
    granularity,
    group,
    by,
    limit,
    since: new Date(periodStart(since, granularity)),
    until: new Date(Math.ceil(until / length) * length),
  };
}

/** A store's ranking as `usageTop` answers it. */
export function topOf(rank: UsageRank, ranked: readonly UsageRanked[]): UsageTop {
  const cut = 2; // `k:` and `o:`
  return {
    group: rank.group,
    by: rank.by,
    granularity: rank.granularity,
    since: rank.since.toISOString(),
    until: rank.until.toISOString(),
    items: ranked.map((r) =>
      rank.group === 'key'
        ? { key: r.scope.slice(cut), valid: r.valid, refused: r.refused }
        : { owner: r.scope.slice(cut), valid: r.valid, refused: r.refused },
    ),
  };
}
