import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
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
  /**
   * Longest a request waits for Redis, in milliseconds (default 250). Past it the request
   * is answered by the fail mode and Redis counts as unavailable.
   */
  timeoutMs?: number;
  /**
   * While Redis is unavailable, requests are answered by the fail mode without asking it;
   * one request at most this often (milliseconds, default 1000) asks it again, and its
   * answer in time makes it available again. Never while an earlier call is unanswered.
   */
  probeIntervalMs?: number;
  /** Counters the `local` fail mode keeps in memory (see {@link memoryRateLimiter}). */
  maxCounters?: number;
  /** Told once each time the store becomes unavailable, and when it is back. */
  onStateChange?: (state: 'unavailable' | 'available', error?: unknown) => void;
}

/** Rejects a Redis call that takes longer than the deadline. */
export class LimiterTimeoutError extends Error {
  override readonly name = 'LimiterTimeoutError';
}

// How long unanswered calls hold back the next probe at most.
const STALE_CALL_MS = 30_000;

function checkMs(value: number | undefined, fallback: number, what: string): number {
  const ms = value ?? fallback;
  if (!Number.isInteger(ms) || ms < 1 || ms > 60_000)
    throw new KeywardConfigError(`${what} must be an integer from 1 to 60000 (milliseconds)`);
  return ms;
}

/**
 * Counters shared by every instance through Redis, with atomic Lua increments
 * (rate-limiter-flexible). Every call has a deadline, and a circuit breaker keeps
 * requests from waiting on a Redis that is down or hung: while it is, the fail mode
 * answers at once, and Redis is probed until it answers in time again.
 */
export function redisRateLimiter(options: RedisRateLimiterOptions): RateLimiter {
  const failMode = options.failMode ?? 'local';
  const prefix = options.prefix ?? 'keyward:rl';
  const timeoutMs = checkMs(options.timeoutMs, 250, 'timeoutMs');
  const probeIntervalMs = checkMs(options.probeIntervalMs, 1000, 'probeIntervalMs');
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
  // The breaker: open (`down`) from the first error or missed deadline until a probe is
  // answered in time. `pending` counts calls Redis has not answered yet, timed out or not:
  // no probe is sent while one is (so a hung Redis gets no pile of commands), unless the
  // last call went out long ago (a connection that never settles its calls).
  let down = false;
  let pending = 0;
  let nextProbe = 0;
  let lastSent = 0;
  const trip = (error: unknown) => {
    nextProbe = performance.now() + probeIntervalMs;
    if (down) return;
    down = true;
    options.onStateChange?.('unavailable', error);
  };
  const fallback = (bucket: string, rule: RateLimitRule): Promise<RateDecision> => {
    if (failMode === 'open')
      return Promise.resolve({
        allowed: true,
        limit: rule.limit,
        remaining: rule.limit,
        resetSeconds: rule.windowSeconds,
        windowSeconds: rule.windowSeconds,
      });
    if (failMode === 'closed')
      return Promise.reject(new LimiterUnavailableError('rate-limit store unreachable'));
    return local.consume(bucket, rule);
  };
  const ask = (bucket: string, rule: RateLimitRule) =>
    new Promise<RateDecision>((resolve, reject) => {
      let late = false;
      const timer = setTimeout(() => {
        late = true;
        reject(new LimiterTimeoutError(`Redis did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      let call: Promise<RateDecision>;
      try {
        call = consumeWith(shared.get(rule), bucket, rule);
      } catch (error) {
        call = Promise.reject(error);
      }
      pending++;
      lastSent = performance.now();
      call.then(
        (decision) => {
          pending--;
          clearTimeout(timer);
          // An answer after the deadline proves nothing about the next call.
          if (late) return;
          if (down) {
            down = false;
            options.onStateChange?.('available');
          }
          resolve(decision);
        },
        (error: unknown) => {
          pending--;
          clearTimeout(timer);
          if (late) trip(error);
          else reject(error);
        },
      );
    });
  return {
    async consume(bucket, rule) {
      if (down) {
        const now = performance.now();
        const held = pending > 0 && now - lastSent < STALE_CALL_MS;
        if (held || now < nextProbe) return fallback(bucket, rule);
      }
      try {
        return await ask(bucket, rule);
      } catch (error) {
        trip(error);
        return fallback(bucket, rule);
      }
    },
  };
}
