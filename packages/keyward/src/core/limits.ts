import type { AuthFailure } from './failures.js';
import type { KeySource } from './request.js';

/** A request budget: at most `limit` requests per `windowSeconds`. */
export interface LimitRule {
  readonly limit: number;
  readonly windowSeconds: number;
}

/**
 * The rate-limit steps a guard runs around verification. Implemented by `rateLimits()`
 * (`limits/` of this package); declared here as a type only, so the core stays free of
 * Node-only imports and runs on fetch runtimes.
 */
export interface GuardLimits<P> {
  /** Whether failed attempts are limited per client address. */
  readonly limitsFailures: boolean;
  /**
   * The address failures are counted under. May throw: an `AuthFailure` is the answer,
   * anything else is reported through the guard's `onError` and answered with 503.
   */
  address(source: KeySource): string | undefined;
  /** Sync: whether this key was verified good from this address recently (it may pass a block). */
  knownFrom?(address: string | undefined, key: string): boolean;
  /** Notes a key verified good from an address. */
  verified?(address: string | undefined, key: string): void;
  /** Seconds an address must still wait, or 0. Sync: no I/O on the request path. */
  blockedFor(address: string | undefined): number;
  blocked(retryAfter: number): AuthFailure;
  /** Counts a failed attempt; resolves with the failure to answer. */
  failed(address: string | undefined, failure: AuthFailure): Promise<AuthFailure>;
  ruleFor(principal: P): LimitRule | undefined;
  /** Optional: the budget the principal's owner shares with its other keys, if any. */
  ownerRuleFor?(principal: P): LimitRule | undefined;
  /**
   * Consumes one request of a key's budget (`rule`, when it has one) and of its owner's
   * (when `ownerRuleFor` gives one): headers when allowed, a failure when not.
   */
  admit(principal: P, rule: LimitRule | undefined): Promise<Record<string, string> | AuthFailure>;
}
