import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { KeywardConfigError } from '../core/errors.js';
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

function decision(res: RateLimiterRes, rule: RateLimitRule, allowed: boolean): RateDecision {
  return {
    allowed,
    limit: rule.limit,
    remaining: Math.max(0, res.remainingPoints),
    resetSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
    windowSeconds: rule.windowSeconds,
  };
}

/** One rate-limiter-flexible instance per distinct rule. */
class RuleLimiters {
  readonly #limiters = new Map<string, RateLimiterRedis>();
  constructor(private readonly make: (rule: RateLimitRule, prefix: string) => RateLimiterRedis) {}

  get(rule: RateLimitRule): RateLimiterRedis {
    const prefix = `${rule.limit}/${rule.windowSeconds}`;
    let limiter = this.#limiters.get(prefix);
    if (!limiter) {
      limiter = this.make(rule, prefix);
      this.#limiters.set(prefix, limiter);
    }
    return limiter;
  }
}

async function consumeWith(
  limiter: RateLimiterRedis,
  bucket: string,
  rule: RateLimitRule,
): Promise<RateDecision> {
  try {
    return decision(await limiter.consume(bucket, 1), rule, true);
  } catch (rejection) {
    if (rejection instanceof RateLimiterRes) return decision(rejection, rule, false);
    throw rejection;
  }
}

/** Default of {@link MemoryRateLimiterOptions.maxCounters}. */
export const DEFAULT_MAX_COUNTERS = 100_000;

export interface MemoryRateLimiterOptions {
  /**
   * Most counters kept per kind of bucket (the part of its name before the first `:`:
   * keyward's `fail:` per client address and `key:` per key), rounded up to a multiple of
   * 8. Past it the least recently used counter of a set of eight gives way, which starts
   * that window again. About 28 bytes each, allocated up front. Default 100,000.
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
 * started by its first request. Memory is fixed: a table per kind of bucket with at most
 * `maxCounters` entries, each expiring with its window, and no timer or object per counter.
 */
export function memoryRateLimiter(options: MemoryRateLimiterOptions = {}): MemoryRateLimiter {
  const max = checkMax(options.maxCounters, 'maxCounters');
  // A flood of failure counters must not push out the per-key ones: one table per kind.
  const kinds = new Map<string, ExpiringTable>();
  const kindOf = (bucket: string) => {
    const colon = bucket.indexOf(':');
    const kind = colon === -1 ? '' : bucket.slice(0, colon);
    let table = kinds.get(kind);
    if (!table) {
      table = new ExpiringTable(max);
      kinds.set(kind, table);
    }
    return table;
  };
  return {
    get size() {
      const now = performance.now();
      let n = 0;
      for (const table of kinds.values()) n += table.size(now);
      return n;
    },
    consume(bucket, rule) {
      const table = kindOf(bucket);
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

export interface RedisRateLimiterOptions {
  /** An ioredis client (shared with the change notifications if you like). */
  client: unknown;
  /** Default `local`. */
  failMode?: FailMode;
  /** Key prefix in Redis. Default `keyward:rl`. */
  prefix?: string;
  /** Counters the `local` fail mode keeps in memory (see {@link memoryRateLimiter}). */
  maxCounters?: number;
  /** Told once each time the store becomes unreachable, and when it is back. */
  onStateChange?: (state: 'unavailable' | 'available', error?: unknown) => void;
}

/**
 * Counters shared by every instance through Redis, with atomic Lua increments
 * (rate-limiter-flexible). While Redis is unreachable the fail mode decides.
 */
export function redisRateLimiter(options: RedisRateLimiterOptions): RateLimiter {
  const failMode = options.failMode ?? 'local';
  const prefix = options.prefix ?? 'keyward:rl';
  const local = memoryRateLimiter({ maxCounters: options.maxCounters });
  const shared = new RuleLimiters(
    (rule, p) =>
      new RateLimiterRedis({
        storeClient: options.client,
        points: rule.limit,
        duration: rule.windowSeconds,
        keyPrefix: `${prefix}:${p}`,
        // Fail fast while disconnected instead of queueing requests behind a dead socket.
        rejectIfRedisNotReady: true,
      }),
  );
  let down = false;
  return {
    async consume(bucket, rule) {
      try {
        const result = await consumeWith(shared.get(rule), bucket, rule);
        if (down) {
          down = false;
          options.onStateChange?.('available');
        }
        return result;
      } catch (error) {
        if (!down) {
          down = true;
          options.onStateChange?.('unavailable', error);
        }
        if (failMode === 'open')
          return {
            allowed: true,
            limit: rule.limit,
            remaining: rule.limit,
            resetSeconds: rule.windowSeconds,
            windowSeconds: rule.windowSeconds,
          };
        if (failMode === 'closed') throw new LimiterUnavailableError('rate-limit store unreachable');
        return local.consume(bucket, rule);
      }
    },
  };
}
