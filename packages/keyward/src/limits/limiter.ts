import { KeywardConfigError } from '../core/failures.js';
import { ExpiringTable } from './table.js';

/** At most `limit` requests per `windowSeconds` (a fixed window). */
export interface RateLimitRule {
  readonly limit: number;
  readonly windowSeconds: number;
}

/** The answer of one consume, enough for `Retry-After` and the IETF `RateLimit` fields. */
export interface RateDecision {
  readonly allowed: boolean;
  readonly limit: number;
  readonly remaining: number;
  /** Seconds until the window resets. */
  readonly resetSeconds: number;
  readonly windowSeconds: number;
}

/** Counts requests per bucket. `consume` never rejects: store trouble is the limiter's fail mode. */
export interface RateLimiter {
  consume(bucket: string, rule: RateLimitRule): Promise<RateDecision>;
  close?(): Promise<void>;
}

/** What a shared limiter does while its store is unreachable. */
export type FailMode =
  /** Let requests through (availability first). */
  | 'open'
  /** Refuse them with 503 (strictness first). */
  | 'closed'
  /** Count per instance in memory until the store is back (the default: limits hold, per instance). */
  | 'local';

/** Thrown by a limiter in `closed` fail mode when its store is unreachable. */
export class LimiterUnavailableError extends Error {
  override readonly name = 'LimiterUnavailableError';
}

/** Default of {@link MemoryRateLimiterOptions.maxCounters}. */
export const DEFAULT_MAX_COUNTERS = 100_000;

export interface MemoryRateLimiterOptions {
  /**
   * Most counters kept per kind of bucket: keyward's `fail:` (per client address), `key:`
   * (per key), and one kind for every other bucket name. Rounded up to a multiple of 8;
   * past it the least recently used counter of a set of eight gives way, which starts that
   * window again. About 28 bytes each, allocated at a kind's first counter. Default 100,000.
   */
  maxCounters?: number;
}

/** Counters in this process's memory. */
export interface MemoryRateLimiter extends RateLimiter {
  /** Counters held now, over every kind of bucket (a scan: not for the request path). */
  readonly size: number;
}

function checkMax(max: number | undefined, what: string): number {
  const value = max ?? DEFAULT_MAX_COUNTERS;
  if (!Number.isInteger(value) || value < 1 || value > 2 ** 26)
    throw new KeywardConfigError(`${what} must be an integer from 1 to ${2 ** 26}`);
  return value;
}

/**
 * Counters in this process's memory: right for one instance. A fixed window per counter,
 * started by its first request. Memory is fixed: three tables (`fail:`, `key:`, the rest)
 * of at most `maxCounters` entries each, each entry expiring with its window, and no timer
 * or object per counter.
 */
export function memoryRateLimiter(options: MemoryRateLimiterOptions = {}): MemoryRateLimiter {
  const max = checkMax(options.maxCounters, 'maxCounters');
  // A flood of failure counters must not push out the per-key ones: one table per kind.
  // The kinds are fixed, so that bucket names cannot make a table each (a table is
  // allocated whole): any name but `fail:` and `key:` shares the third.
  const tables: (ExpiringTable | undefined)[] = [undefined, undefined, undefined];
  const tableOf = (bucket: string) => {
    const kind = bucket.startsWith('fail:') ? 0 : bucket.startsWith('key:') ? 1 : 2;
    let table = tables[kind];
    if (!table) {
      table = new ExpiringTable(max);
      tables[kind] = table;
    }
    return table;
  };
  return {
    get size() {
      const now = performance.now();
      let n = 0;
      for (const table of tables) n += table?.size(now) ?? 0;
      return n;
    },
    consume(bucket, rule) {
      const table = tableOf(bucket);
      const now = performance.now();
      let slot = table.find(`${rule.limit}/${rule.windowSeconds}:${bucket}`, now);
      let count = 1;
      if (slot === -1) slot = table.insert(now, now + rule.windowSeconds * 1000, 1);
      else {
        count = table.value(slot) + 1;
        table.setValue(slot, count);
      }
      return Promise.resolve({
        allowed: count <= rule.limit,
        limit: rule.limit,
        remaining: Math.max(0, rule.limit - count),
        resetSeconds: table.secondsLeft(slot, now),
        windowSeconds: rule.windowSeconds,
      });
    },
  };
}
