import { LRUCache } from 'lru-cache';
import { AuthFailure, KeywardConfigError } from '../core/failures.js';
import type { GuardLimits } from '../core/limits.js';
import type { KeySource } from '../core/request.js';
import { type ClientAddressOptions, clientAddressResolver } from './client-address.js';
import { rateLimitHeaders } from './headers.js';
import {
  LimiterUnavailableError,
  memoryRateLimiter,
  type RateLimiter,
  type RateLimitRule,
} from './limiter.js';

/** Rate limits a guard enforces. Nothing is limited unless configured. */
export interface LimitOptions<P> {
  /** Where counters live; default in memory (one instance). Use `redisRateLimiter` to share them. */
  limiter?: RateLimiter;
  /** Per-key limits: the principal's own `rateLimit` (as the key store sets it), else `default`. */
  perKey?: {
    default?: RateLimitRule;
    /** Default: the principal's `rateLimit` property. */
    ruleOf?: (principal: P) => RateLimitRule | null | undefined;
    /** Default: the principal's `id` property. */
    idOf?: (principal: P) => string;
  };
  /**
   * Failed authentications per client address. Over the limit, the address gets 429 without
   * its keys being checked, except keys this instance has recently verified as good.
   */
  failures?: RateLimitRule;
  /** How the client address is found (trusted proxies); off by default. */
  clientAddress?: ClientAddressOptions;
}

function checkRule(rule: RateLimitRule | undefined, what: string): void {
  if (rule === undefined) return;
  const ok =
    Number.isInteger(rule.limit) &&
    rule.limit > 0 &&
    Number.isInteger(rule.windowSeconds) &&
    rule.windowSeconds > 0;
  if (!ok) throw new KeywardConfigError(`${what}: limit and windowSeconds must be positive integers`);
}

const rateLimited = (retryAfter: number, headers?: Record<string, string>) =>
  new AuthFailure('rate_limited', retryAfter, headers);
const unavailable = new AuthFailure('unavailable', 5);

/** The limit logic the guard calls at three points: before verifying, after a failure, after a success. */
export class AuthLimits<P> implements GuardLimits<P> {
  readonly #limiter: RateLimiter;
  readonly #failures: RateLimitRule | undefined;
  readonly #default: RateLimitRule | undefined;
  readonly #ruleOf: (p: P) => RateLimitRule | null | undefined;
  readonly #idOf: (p: P) => string;
  readonly #address;
  // Addresses over the failure limit, checked synchronously on every request.
  readonly #blocked = new LRUCache<string, number>({ max: 100_000 });

  constructor(options: LimitOptions<P>) {
    checkRule(options.failures, 'failures');
    checkRule(options.perKey?.default, 'perKey.default');
    this.#limiter = options.limiter ?? memoryRateLimiter();
    this.#failures = options.failures;
    this.#default = options.perKey?.default;
    this.#ruleOf = options.perKey?.ruleOf ?? ((p) => (p as { rateLimit?: RateLimitRule | null }).rateLimit);
    this.#idOf = options.perKey?.idOf ?? ((p) => String((p as { id?: unknown }).id));
    this.#address = clientAddressResolver(options.clientAddress);
  }

  get limitsFailures(): boolean {
    return this.#failures !== undefined;
  }

  address(source: KeySource): string | undefined {
    return this.#address(source.peer?.(), source.header('x-forwarded-for'));
  }

  /** Seconds this address must still wait, or 0. Sync: no I/O on the request path. */
  blockedFor(address: string | undefined): number {
    if (address === undefined || this.#failures === undefined) return 0;
    const until = this.#blocked.get(address);
    if (until === undefined) return 0;
    const left = until - Date.now();
    if (left <= 0) {
      this.#blocked.delete(address);
      return 0;
    }
    return Math.ceil(left / 1000);
  }

  blocked(retryAfter: number): AuthFailure {
    return rateLimited(retryAfter);
  }

  /** Counts a failed attempt; resolves with the failure to answer (the 401, or 429 once over). */
  async failed(address: string | undefined, failure: AuthFailure): Promise<AuthFailure> {
    if (address === undefined || this.#failures === undefined) return failure;
    try {
      const d = await this.#limiter.consume(`fail:${address}`, this.#failures);
      if (d.allowed) return failure;
      this.#blocked.set(address, Date.now() + d.resetSeconds * 1000);
      return rateLimited(d.resetSeconds, rateLimitHeaders('auth-failures', d));
    } catch (error) {
      if (error instanceof LimiterUnavailableError) return unavailable;
      throw error;
    }
  }

  /** The per-key rule of a principal, if any: no rule, no counting. */
  ruleFor(principal: P): RateLimitRule | undefined {
    return this.#ruleOf(principal) ?? this.#default;
  }

  /** Consumes one request of the key's budget: response headers when allowed, a failure when not. */
  async admit(principal: P, rule: RateLimitRule): Promise<Record<string, string> | AuthFailure> {
    try {
      const d = await this.#limiter.consume(`key:${this.#idOf(principal)}`, rule);
      const headers = rateLimitHeaders('key', d);
      return d.allowed ? headers : rateLimited(d.resetSeconds, headers);
    } catch (error) {
      if (error instanceof LimiterUnavailableError) return unavailable;
      throw error;
    }
  }
}

/** Rate limits for `createGuard({ limits: rateLimits({...}) })`. Options are checked here, once. */
export function rateLimits<P>(options: LimitOptions<P> = {}): GuardLimits<P> {
  return new AuthLimits(options);
}
