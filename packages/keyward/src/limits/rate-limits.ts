import { AuthFailure, KeywardConfigError } from '../core/failures.js';
import type { GuardLimits } from '../core/limits.js';
import type { KeySource } from '../core/request.js';
import { type ClientAddressOptions, clientAddressOf, ipv6Network } from './client-address.js';
import { rateLimitHeaders } from './headers.js';
import {
  LimiterUnavailableError,
  memoryRateLimiter,
  type RateLimiter,
  type RateLimitRule,
} from './limiter.js';
import { ExpiringTable } from './table.js';

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
   * Limits an owner's keys share (one budget for all of them, across instances with a
   * shared limiter), on top of each key's own. Default: the principal's `ownerRateLimit`
   * under the name in its `owner` property (as `@keyward/keys` sets them).
   */
  perOwner?: {
    ruleOf?: (principal: P) => RateLimitRule | null | undefined;
    idOf?: (principal: P) => string | null | undefined;
  };
  /**
   * Failed authentications per client address (IPv6: per /64). Over the limit, the
   * address gets 429 without its keys being checked, except keys this instance verified
   * as good from that address within the window (and keys the verifier `knows`).
   */
  failures?: RateLimitRule;
  /** How the client address is found (trusted proxies, or a header the platform sets). */
  clientAddress?: ClientAddressOptions;
  /**
   * Most blocked addresses kept, and most (address, good key) pairs kept for letting
   * known keys through a block, rounded up to a multiple of 8; past it the least recently
   * used of a set of eight is forgotten. Each entry expires with its window. About 28
   * bytes each, allocated up front. Default 100,000 each. Counters have their own bound
   * (`memoryRateLimiter({ maxCounters })`), except the failure counts kept here while a
   * limiter in fail mode `closed` is unavailable: as many, allocated at the first outage.
   */
  maxAddresses?: number;
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

/** Default of {@link LimitOptions.maxAddresses}. */
export const DEFAULT_MAX_ADDRESSES = 100_000;

/** The limit logic the guard calls at three points: before verifying, after a failure, after a success. */
export class AuthLimits<P> implements GuardLimits<P> {
  readonly #limiter: RateLimiter;
  readonly #failures: RateLimitRule | undefined;
  readonly #default: RateLimitRule | undefined;
  readonly #ruleOf: (p: P) => RateLimitRule | null | undefined;
  readonly #idOf: (p: P) => string;
  readonly #ownerRuleOf: (p: P) => RateLimitRule | null | undefined;
  readonly #ownerOf: (p: P) => string | null | undefined;
  readonly #address: (source: KeySource) => string | undefined;
  readonly #noAddress: string;
  #reportedNoAddress = false;
  // Addresses over the failure limit (until when), checked synchronously on every request.
  readonly #blocked: ExpiringTable | undefined;
  // (address, key) pairs verified good, each kept for one failure window from its last
  // success: they pass a block on that address. Only two hashes of each are kept.
  readonly #known: ExpiringTable | undefined;
  readonly #knownMs: number;
  readonly #max: number;
  // Failures per address counted here while the limiter refuses to count (fail mode
  // `closed` with its store down): made at the first such failure.
  #outageFailures: ExpiringTable | undefined;

  constructor(options: LimitOptions<P>) {
    checkRule(options.failures, 'failures');
    checkRule(options.perKey?.default, 'perKey.default');
    const max = options.maxAddresses ?? DEFAULT_MAX_ADDRESSES;
    if (!Number.isInteger(max) || max < 1 || max > 2 ** 26)
      throw new KeywardConfigError(`maxAddresses must be an integer from 1 to ${2 ** 26}`);
    this.#limiter = options.limiter ?? memoryRateLimiter();
    this.#failures = options.failures;
    this.#default = options.perKey?.default;
    this.#ruleOf = options.perKey?.ruleOf ?? ((p) => (p as { rateLimit?: RateLimitRule | null }).rateLimit);
    this.#idOf = options.perKey?.idOf ?? ((p) => String((p as { id?: unknown }).id));
    this.#ownerRuleOf =
      options.perOwner?.ruleOf ?? ((p) => (p as { ownerRateLimit?: RateLimitRule | null }).ownerRateLimit);
    this.#ownerOf = options.perOwner?.idOf ?? ((p) => (p as { owner?: string | null }).owner);
    this.#address = clientAddressOf(options.clientAddress);
    const header = options.clientAddress?.header;
    this.#noAddress =
      header === undefined
        ? 'failure limits are on, but a request came with no client address (fetch handlers and Hono outside Node have no peer address, nor does a Unix socket): set rateLimits({ clientAddress: { header } }) to a header your platform sets, e.g. "cf-connecting-ip"; such requests get 503'
        : `failure limits are on, but a request came without the ${JSON.stringify(header)} header that clientAddress.header names; such requests get 503`;
    // Only with failure limits: per-key limits alone keep nothing per address.
    this.#blocked = options.failures ? new ExpiringTable(max) : undefined;
    this.#known = options.failures ? new ExpiringTable(max) : undefined;
    this.#knownMs = (options.failures?.windowSeconds ?? 0) * 1000;
    this.#max = max;
  }

  /** Entries held now: blocked addresses and remembered (address, good key) pairs. */
  get size(): { blocked: number; known: number } {
    const now = performance.now();
    return { blocked: this.#blocked?.size(now) ?? 0, known: this.#known?.size(now) ?? 0 };
  }

  get limitsFailures(): boolean {
    return this.#failures !== undefined;
  }

  /**
   * The address failures are counted under: the client address, an IPv6 address folded
   * to its /64. With failure limits on and no address to be found, it throws: reported
   * once (the guard's onError, then 503), then a plain 503. Never silently unlimited.
   */
  address(source: KeySource): string | undefined {
    const address = this.#address(source);
    if (address !== undefined) return address.includes(':') ? ipv6Network(address) : address;
    if (this.#failures === undefined) return undefined;
    if (this.#reportedNoAddress) throw unavailable;
    this.#reportedNoAddress = true;
    throw new KeywardConfigError(this.#noAddress);
  }

  /** Whether this key was verified good from this address within the failure window. */
  knownFrom(address: string | undefined, key: string): boolean {
    if (address === undefined || this.#known === undefined) return false;
    return this.#known.find(`${address}\n${key}`, performance.now()) !== -1;
  }

  /** Notes a key verified good from an address, for the next failure window. */
  verified(address: string | undefined, key: string): void {
    const known = this.#known;
    if (address === undefined || known === undefined) return;
    const now = performance.now();
    const slot = known.find(`${address}\n${key}`, now);
    if (slot === -1) known.insert(now, now + this.#knownMs, 0);
    else known.setExpires(slot, now + this.#knownMs);
  }

  /** Seconds this address must still wait, or 0. Sync: no I/O on the request path. */
  blockedFor(address: string | undefined): number {
    const blocked = this.#blocked;
    if (address === undefined || blocked === undefined) return 0;
    const now = performance.now();
    const slot = blocked.find(address, now);
    return slot === -1 ? 0 : blocked.secondsLeft(slot, now);
  }

  blocked(retryAfter: number): AuthFailure {
    return new AuthFailure('rate_limited', retryAfter, undefined, 'address');
  }

  /** Counts a failed attempt; resolves with the failure to answer (the 401, or 429 once over). */
  async failed(address: string | undefined, failure: AuthFailure): Promise<AuthFailure> {
    const rule = this.#failures;
    if (address === undefined || rule === undefined || this.#blocked === undefined) return failure;
    try {
      const d = await this.#limiter.consume(`fail:${address}`, rule);
      if (d.allowed) return failure;
      this.#block(address, d.resetSeconds);
      return new AuthFailure('rate_limited', d.resetSeconds, rateLimitHeaders('auth-failures', d), 'address');
    } catch (error) {
      if (!(error instanceof LimiterUnavailableError)) throw error;
      // The answer is 503, but without a count here the block table would never fill and
      // every guess would still be checked: a wrong key 503, the right one 200. Counted
      // per instance, an address over the limit is blocked as it would be with the store up.
      const retryAfter = this.#failedDuringOutage(address, rule);
      return retryAfter === 0 ? unavailable : this.blocked(retryAfter);
    }
  }

  /** Counts a failure in this instance's memory; the seconds the address is now blocked for, or 0. */
  #failedDuringOutage(address: string, rule: RateLimitRule): number {
    this.#outageFailures ??= new ExpiringTable(this.#max);
    const table = this.#outageFailures;
    const now = performance.now();
    let slot = table.find(address, now);
    let count = 1;
    if (slot === -1) slot = table.insert(now, now + rule.windowSeconds * 1000, 1);
    else {
      count = table.value(slot) + 1;
      table.setValue(slot, count);
    }
    if (count <= rule.limit) return 0;
    const seconds = table.secondsLeft(slot, now);
    this.#block(address, seconds);
    return seconds;
  }

  #block(address: string, seconds: number): void {
    const blocked = this.#blocked!;
    const now = performance.now();
    const slot = blocked.find(address, now);
    const until = now + seconds * 1000;
    if (slot === -1) blocked.insert(now, until, 0);
    else blocked.setExpires(slot, until);
  }

  /** The per-key rule of a principal, if any: no rule, no counting. */
  ruleFor(principal: P): RateLimitRule | undefined {
    return this.#ruleOf(principal) ?? this.#default;
  }

  /** The rule an owner's keys share, when the principal has an owner with one. */
  ownerRuleFor(principal: P): RateLimitRule | undefined {
    const owner = this.#ownerOf(principal);
    if (typeof owner !== 'string' || owner === '') return undefined;
    return this.#ownerRuleOf(principal) ?? undefined;
  }

  /**
   * Consumes one request of the key's budget, then of its owner's: response headers when
   * both allow it, a failure when one does not. The owner's budget is not touched by a
   * request the key's own limit refuses; the key's is by one its owner's refuses.
   */
  async admit(principal: P, rule: RateLimitRule | undefined): Promise<Record<string, string> | AuthFailure> {
    try {
      let headers: Record<string, string> | undefined;
      if (rule !== undefined) {
        const d = await this.#limiter.consume(`key:${this.#idOf(principal)}`, rule);
        headers = rateLimitHeaders('key', d);
        if (!d.allowed) return rateLimited(d.resetSeconds, headers);
      }
      const ownerRule = this.ownerRuleFor(principal);
      if (ownerRule === undefined) return headers ?? {};
      const o = await this.#limiter.consume(`owner:${this.#ownerOf(principal)}`, ownerRule);
      const ownerHeaders = rateLimitHeaders('owner', o);
      const all = headers === undefined ? ownerHeaders : joinRateLimitHeaders(headers, ownerHeaders);
      return o.allowed ? all : rateLimited(o.resetSeconds, all);
    } catch (error) {
      if (error instanceof LimiterUnavailableError) return unavailable;
      throw error;
    }
  }
}

/** Two policies' fields as one list each (structured-field lists join with a comma). */
function joinRateLimitHeaders(a: Record<string, string>, b: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = { ...a };
  for (const [name, value] of Object.entries(b)) out[name] = out[name] ? `${out[name]}, ${value}` : value;
  return out;
}

/** Rate limits for `createGuard({ limits: rateLimits({...}) })`. Options are checked here, once. */
export function rateLimits<P>(options: LimitOptions<P> = {}): GuardLimits<P> {
  return new AuthLimits(options);
}
