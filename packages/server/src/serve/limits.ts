import {
  type FailMode,
  type GuardLimits,
  memoryRateLimiter,
  type RateLimiter,
  type RateLimitRule,
  rateLimits,
} from 'keyward';
import { redisRateLimiter } from 'keyward/redis';

/** What `keyward serve` is told about rate limits. */
export interface ServeLimitOptions {
  /** Shared counters when set (`KEYWARD_REDIS_URL`); per-instance memory otherwise. */
  redisUrl?: string;
  /** Key prefix in Redis (`KEYWARD_REDIS_PREFIX`), so deployments can share one Redis. */
  redisPrefix?: string;
  /** While Redis is unreachable. Default `local`. */
  failMode?: FailMode;
  /** For keys that set no rate limit of their own. */
  perKeyDefault?: RateLimitRule;
  /** Failed authentications per client address. */
  failures?: RateLimitRule;
  /** Self-revocation requests (`POST /v1/revoke`) per client address, counted apart from failures. */
  revocations?: RateLimitRule;
  trustedProxies?: readonly string[];
  /** Startup and state-change lines (never a key; Redis URLs without credentials). */
  log: (line: string) => void;
  /** Told of each error the Redis connection reports (for metrics). */
  onRedisError?: () => void;
  /** Told when the limiter stops asking Redis (`unavailable`) and when it asks again (for metrics). */
  onRedisState?: (state: 'unavailable' | 'available') => void;
}

export interface ServeLimits {
  readonly limits: GuardLimits<unknown>;
  /** With Redis: whether it answers a PING (rejects when it does not); for readiness. */
  readonly ping?: () => Promise<unknown>;
  /** Limits for `POST /v1/revoke`: every request counts as a failure of its address. */
  readonly revocations: GuardLimits<unknown>;
  close(): Promise<void>;
}

/** The Redis key prefix when `KEYWARD_REDIS_PREFIX` is not set (`redisRateLimiter`'s default). */
export const DEFAULT_REDIS_PREFIX = 'keyward:rl';

const MODES: Record<FailMode, string> = {
  open: 'requests pass unlimited',
  closed: 'requests get 503',
  local: 'each instance counts in its own memory',
};

/** A Redis URL fit to print: no user, no password. */
export function redisLabel(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return '(unparsable Redis URL)';
  }
}

/** How long `close()` waits for Redis to acknowledge QUIT before dropping the connection. */
const QUIT_TIMEOUT_MS = 1000;

/**
 * QUIT, or the socket dropped if Redis does not answer in time: a hung Redis must not
 * keep `serve` from stopping (nothing is left to send; the counters live in Redis).
 */
async function closeRedis(client: { quit(): Promise<unknown>; disconnect(): void }): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), QUIT_TIMEOUT_MS);
  });
  const answer = await Promise.race([client.quit().catch(() => 'failed' as const), late]);
  clearTimeout(timer);
  if (answer === 'late' || answer === 'failed') client.disconnect();
}

const rate = (r: RateLimitRule) => `${r.limit} per ${r.windowSeconds}s`;

/**
 * The guard's rate limits for `keyward serve`: per-key limits (each key's own, else the
 * default) and failed attempts per address, counted in Redis when configured (one budget
 * for every instance) and in memory otherwise.
 */
export async function serveLimits(options: ServeLimitOptions): Promise<ServeLimits> {
  const { log } = options;
  const perKey = options.perKeyDefault ? `default ${rate(options.perKeyDefault)}` : 'none by default';
  const failures = options.failures ? rate(options.failures) : 'off';
  const address = options.trustedProxies?.length
    ? `X-Forwarded-For from trusted proxies ${options.trustedProxies.join(', ')}`
    : 'the peer address (no trusted proxies)';
  let limiter: RateLimiter = memoryRateLimiter();
  let close = async () => {};
  let ping: (() => Promise<unknown>) | undefined;
  if (options.redisUrl) {
    const failMode = options.failMode ?? 'local';
    const label = redisLabel(options.redisUrl);
    // Loaded only when asked for.
    const { Redis } = await import('ioredis');
    const client = new Redis(options.redisUrl, {
      // Fail fast while disconnected (the fail mode answers) instead of queueing behind a dead socket.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      // Reconnects by itself, forever, at most 2 s apart.
      retryStrategy: (times) => Math.min(times * 100, 2000),
    });
    // Connection trouble is reported once per outage by the limiter, not per retry.
    client.on('error', () => options.onRedisError?.());
    limiter = redisRateLimiter({
      client,
      failMode,
      prefix: options.redisPrefix,
      onStateChange: (state, error) => {
        options.onRedisState?.(state);
        log(
          state === 'unavailable'
            ? `keyward: Redis ${label} unreachable (${error instanceof Error ? error.message : 'error'}); rate limits fail ${failMode}: ${MODES[failMode]}`
            : `keyward: Redis ${label} reachable again; rate limits are shared again`,
        );
      },
    });
    close = () => closeRedis(client);
    ping = () => client.ping();
    log(
      `Rate limits shared through Redis ${label}, key prefix ${options.redisPrefix ?? DEFAULT_REDIS_PREFIX} (per key: ${perKey}; failed attempts per address: ${failures}). While Redis is unreachable: fail mode ${failMode}, ${MODES[failMode]}.`,
    );
  } else {
    log(
      `Rate limits in this instance's memory (per key: ${perKey}; failed attempts per address: ${failures}); set KEYWARD_REDIS_URL to share them between instances.`,
    );
  }
  log(`Client address: ${address}.`);
  const limits = rateLimits<unknown>({
    limiter,
    perKey: options.perKeyDefault ? { default: options.perKeyDefault } : {},
    failures: options.failures,
    clientAddress: { trustedProxies: options.trustedProxies ?? [] },
  });
  // The same counters (memory or Redis), under their own names: revoke requests never
  // eat into an address's budget of failed authentications, nor the other way round.
  const shared = limiter;
  const revocations = rateLimits<unknown>({
    limiter: { consume: (bucket, rule) => shared.consume(`revoke:${bucket}`, rule) },
    failures: options.revocations,
    clientAddress: { trustedProxies: options.trustedProxies ?? [] },
  });
  return { limits, revocations, ping, close };
}
