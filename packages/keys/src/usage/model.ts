/**
 * Usage analytics: what is counted, how periods are cut, and the shapes queries answer.
 * Pure definitions, shared by the recorder, the stores and the query code.
 */

/**
 * Every verification outcome counted, in storage order (stores keep one column each, and
 * count arrays follow this order). The first eight are counted per key and per owner;
 * the deployment counts all twelve: the last four never have a key (no key, a key sent
 * twice, an unknown or malformed key, the store or a limiter unreachable).
 */
export const USAGE_OUTCOMES = [
  'valid',
  'expired',
  'revoked',
  'disabled',
  'insufficient_scope',
  'rate_limited',
  'usage_exceeded',
  'restricted',
  'missing',
  'duplicate',
  'invalid',
  'unavailable',
] as const;

/** One counted verification outcome (see {@link USAGE_OUTCOMES}). */
export type UsageOutcome = (typeof USAGE_OUTCOMES)[number];

/** Outcomes a key (and an owner) is counted for: the first eight of {@link USAGE_OUTCOMES}. */
export const KEY_OUTCOMES = USAGE_OUTCOMES.slice(0, 8) as readonly KeyUsageOutcome[];
export type KeyUsageOutcome = (typeof USAGE_OUTCOMES)[0 | 1 | 2 | 3 | 4 | 5 | 6 | 7];

/** How many outcomes a count array holds. */
export const OUTCOME_COUNT = USAGE_OUTCOMES.length;
/** How many of them a key or owner has (they come first). */
export const KEY_OUTCOME_COUNT = 8;

/** The length of the periods a series is cut into. */
export type UsageGranularity = 'minute' | 'hour' | 'day';
export const GRANULARITIES: readonly UsageGranularity[] = ['minute', 'hour', 'day'];

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** A period's length in ms (days are UTC days). */
export function periodMs(granularity: UsageGranularity): number {
  return granularity === 'minute' ? MINUTE : granularity === 'hour' ? HOUR : DAY;
}

/** The start (ms, UTC) of the period holding `ms`. */
export function periodStart(ms: number, granularity: UsageGranularity): number {
  const length = periodMs(granularity);
  return Math.floor(ms / length) * length;
}

/**
 * Who a series belongs to, as stores keep it: `*` for the deployment, `k:<key id>` for a
 * key, `o:<owner>` for an owner. Opaque to stores but for the prefix `usageTop` groups by.
 */
export type UsageScopeKey = string;
export const DEPLOYMENT_SCOPE: UsageScopeKey = '*';
export const keyScope = (id: string): UsageScopeKey => `k:${id}`;
export const ownerScope = (owner: string): UsageScopeKey => `o:${owner}`;
/** The prefix of a group's scopes. */
export const scopePrefix = (group: UsageGroup): string => (group === 'key' ? 'k:' : 'o:');
/** The scopes of a group, as a range for an index: `from <= scope < to`. */
export const scopeRange = (group: UsageGroup): { from: string; to: string } =>
  group === 'key' ? { from: 'k:', to: 'k;' } : { from: 'o:', to: 'o;' };

/** How SQL stores number granularities (`tier`): 0 minute, 1 hour, 2 day. */
export const USAGE_TIER: Readonly<Record<UsageGranularity, number>> = { minute: 0, hour: 1, day: 2 };
/** The outcomes summed as a key's refusals (`usageTop --by refused`): expired to restricted. */
export const REFUSED_OUTCOMES = USAGE_OUTCOMES.slice(1, 8);

/**
 * Counts added to one period of one series. `counts` follows {@link USAGE_OUTCOMES}
 * (twelve numbers). A store adds them to what it holds (`n = n + delta`), so several
 * processes add their own counts to the same rows and totals stay exact.
 */
export interface UsageCounts {
  readonly granularity: UsageGranularity;
  /** The period's start (UTC, aligned to the granularity). */
  readonly start: Date;
  readonly scope: UsageScopeKey;
  readonly counts: ArrayLike<number>;
}

/** What a store reads for series: the rows of these scopes in `[since, until)`. */
export interface UsageRead {
  readonly granularity: UsageGranularity;
  readonly scopes: readonly UsageScopeKey[];
  readonly since: Date;
  readonly until: Date;
}

/** What a store ranks for `usageTop`: the scopes of a group by their sums over `[since, until)`. */
export interface UsageRank {
  readonly granularity: UsageGranularity;
  readonly group: UsageGroup;
  readonly by: 'valid' | 'refused';
  readonly since: Date;
  readonly until: Date;
  readonly limit: number;
}

/** One ranked scope: sums of `valid` and of every key refusal (expired to restricted). */
export interface UsageRanked {
  readonly scope: UsageScopeKey;
  readonly valid: number;
  readonly refused: number;
}

/** Whose series a query reads. */
export type UsageScope =
  | { readonly key: string }
  | { readonly owner: string }
  | { readonly deployment: true };

/** The groups `usageTop` ranks. */
export type UsageGroup = 'key' | 'owner';

/**
 * A series query (`KeyManager.usage`). Times are `Date`s or anything `new Date()` reads
 * (ISO text, ms). `since` is rounded down and `until` up to the granularity.
 */
export interface UsageQuery {
  /** One of `key`, `owner`, `deployment: true`; the deployment when none is given. */
  readonly key?: string;
  readonly owner?: string;
  readonly deployment?: true;
  /** Default: 24 hours before `until`. */
  readonly since?: Date | string | number;
  /** Default: now. */
  readonly until?: Date | string | number;
  /** Default: `minute` up to 2 hours, `hour` up to 7 days, `day` beyond. */
  readonly granularity?: UsageGranularity;
}

/** One period of a series: its start and the outcomes counted in it (zero counts may be left out). */
export type UsageBucket = { readonly start: string } & { readonly [O in UsageOutcome]?: number };

/**
 * A series, exactly as `keyward usage --json` prints it. `totals` names every outcome of
 * the scope (the first eight for a key or owner, all twelve for the deployment), zero
 * included; `buckets` holds every period of `[since, until)` in order.
 */
export interface UsageReport {
  readonly scope: UsageScope;
  readonly granularity: UsageGranularity;
  /** ISO 8601, UTC, aligned to the granularity. */
  readonly since: string;
  /** ISO 8601, UTC, aligned to the granularity; exclusive. */
  readonly until: string;
  readonly totals: { readonly [O in UsageOutcome]?: number };
  readonly buckets: readonly UsageBucket[];
}

/**
 * Many keys' series in one call (`KeyManager.usageMany`), in columns to stay small: the
 * period starts once, then per key its totals and, per outcome it counted, one number per
 * period (aligned with `starts`).
 */
export interface UsageSeriesSet {
  readonly granularity: UsageGranularity;
  readonly since: string;
  readonly until: string;
  readonly starts: readonly string[];
  readonly series: readonly {
    readonly key: string;
    readonly totals: { readonly [O in KeyUsageOutcome]: number };
    readonly counts: { readonly [O in KeyUsageOutcome]?: readonly number[] };
  }[];
}

/** A `usageTop` query: the busiest keys or owners. */
export interface UsageTopQuery {
  /** Default: 7 days before `until`. */
  readonly since?: Date | string | number;
  /** Default: now. */
  readonly until?: Date | string | number;
  /** Rank by valid requests (default) or by refusals. */
  readonly by?: 'valid' | 'refused';
  /** 1 to 1000, default 20. */
  readonly limit?: number;
  /** Keys (default) or owners. */
  readonly group?: UsageGroup;
}

/** `usageTop`'s answer, exactly as `keyward usage top --json` prints it. */
export interface UsageTop {
  readonly group: UsageGroup;
  readonly by: 'valid' | 'refused';
  /** The periods read: `since` rounded down to the hour (to the day beyond 48 hours). */
  readonly since: string;
  readonly until: string;
  readonly granularity: UsageGranularity;
  /** Busiest first. */
  readonly items: readonly UsageTopItem[];
}

/** One of the busiest: its key id or owner name, its valid requests and its refusals. */
export type UsageTopItem = ({ readonly key: string } | { readonly owner: string }) & {
  readonly valid: number;
  readonly refused: number;
};
