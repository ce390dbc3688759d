import { KeywardConfigError } from 'keyward';
import type { CacheOptions } from './verify/verification.js';

/**
 * The longest interval or cache TTL accepted: 1 hour. Timers silently fire every
 * millisecond past 2^31-1 ms (about 24.8 days), and a cached answer trusted longer than
 * this would outlive a revoke whenever the change feed is not delivering.
 */
export const MAX_INTERVAL_MS = 3_600_000;
const MAX_ENTRIES = 10_000_000;

/** A timer interval in ms: 0 (off) or up to {@link MAX_INTERVAL_MS}; `fallback` when not given. */
export function checkInterval(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0 || value > MAX_INTERVAL_MS) {
    throw new KeywardConfigError(
      `${what} must be a whole number of milliseconds from 0 (off) to ${MAX_INTERVAL_MS} (1 hour)`,
    );
  }
  return value;
}

function positive(value: number | undefined, fallback: number, max: number, what: string): number {
  if (value === undefined) return fallback;
  // 0 is refused rather than passed on: lru-cache reads a TTL of 0 as "never expires".
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new KeywardConfigError(`${what} must be a whole number from 1 to ${max}`);
  }
  return value;
}

/** Validates cache options once, at `KeyManager.open`, and fills in the defaults. */
export function checkCacheOptions(cache: CacheOptions | undefined): Required<CacheOptions> {
  if (cache !== undefined && (typeof cache !== 'object' || cache === null)) {
    throw new KeywardConfigError('cache must be an object');
  }
  return {
    max: positive(cache?.max, 10_000, MAX_ENTRIES, 'cache.max'),
    ttlMs: positive(cache?.ttlMs, 60_000, MAX_INTERVAL_MS, 'cache.ttlMs'),
    negativeMax: positive(cache?.negativeMax, 10_000, MAX_ENTRIES, 'cache.negativeMax'),
    negativeTtlMs: positive(cache?.negativeTtlMs, 60_000, MAX_INTERVAL_MS, 'cache.negativeTtlMs'),
  };
}
