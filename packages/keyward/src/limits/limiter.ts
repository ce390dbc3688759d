import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

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

type Limiter = RateLimiterMemory | RateLimiterRedis;

/** Shared by both limiters: one rate-limiter-flexible instance per distinct rule. */
class RuleLimiters {
  readonly #limiters = new Map<string, Limiter>();
  constructor(private readonly make: (rule: RateLimitRule, prefix: string) => Limiter) {}

  get(rule: RateLimitRule): Limiter {
    const prefix = `${rule.limit}/${rule.windowSeconds}`;
    let limiter = this.#limiters.get(prefix);
    if (!limiter) {
      limiter = this.make(rule, prefix);
      this.#limiters.set(prefix, limiter);
    }
    return limiter;
  }
}

async function consumeWith(limiter: Limiter, bucket: string, rule: RateLimitRule): Promise<RateDecision> {
  try {
    return decision(await limiter.consume(bucket, 1), rule, true);
  } catch (rejection) {
    if (rejection instanceof RateLimiterRes) return decision(rejection, rule, false);
    throw rejection;
  }
}

/** Counters in this process's memory: right for one instance. */
export function memoryRateLimiter(): RateLimiter {
  const limiters = new RuleLimiters(
    (rule, prefix) =>
      new RateLimiterMemory({ points: rule.limit, duration: rule.windowSeconds, keyPrefix: prefix }),
  );
  return { consume: (bucket, rule) => consumeWith(limiters.get(rule), bucket, rule) };
}

export interface RedisRateLimiterOptions {
  /** An ioredis client (shared with the change notifications if you like). */
  client: unknown;
  /** Default `local`. */
  failMode?: FailMode;
  /** Key prefix in Redis. Default `keyward:rl`. */
  prefix?: string;
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
  const local = new RuleLimiters(
    (rule, p) =>
      new RateLimiterMemory({
        points: rule.limit,
        duration: rule.windowSeconds,
        keyPrefix: `${prefix}:${p}`,
      }),
  );
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
        return consumeWith(local.get(rule), bucket, rule);
      }
    },
  };
}
