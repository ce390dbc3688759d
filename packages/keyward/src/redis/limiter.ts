import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { KeywardConfigError } from '../core/failures.js';
import {
  type FailMode,
  LimiterUnavailableError,
  memoryRateLimiter,
  type RateDecision,
  type RateLimiter,
  type RateLimitRule,
} from '../limits/limiter.js';

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
