import type { AuthResult } from 'keyward';

/**
 * What a verification ended in, as metrics name it: `valid`, or the failure code, with the
 * 401 `invalid` split by its reason when the key was `expired`, `revoked` or `disabled`
 * (a made-up or malformed key stays `invalid`). A fixed, small set: never a label per key.
 */
export const VERIFICATION_OUTCOMES = [
  'valid',
  'missing',
  'duplicate',
  'invalid',
  'expired',
  'revoked',
  'disabled',
  'insufficient_scope',
  'restricted',
  'rate_limited',
  'usage_exceeded',
  'unavailable',
] as const;

/**
 * One of {@link VERIFICATION_OUTCOMES}; `anonymous` for a request let through without a
 * key (optional auth), `other` for a failure code this version does not know.
 */
export type VerificationOutcome = (typeof VERIFICATION_OUTCOMES)[number] | 'anonymous' | 'other';

const KNOWN: Readonly<Record<string, VerificationOutcome>> = Object.freeze(
  Object.fromEntries(VERIFICATION_OUTCOMES.map((o) => [o, o])),
);

/** The outcome a guard's result counts as (see {@link VERIFICATION_OUTCOMES}); no allocation. */
export function verificationOutcome(result: AuthResult<unknown>): VerificationOutcome {
  if (result.ok) return result.principal === undefined ? 'anonymous' : 'valid';
  const { code, reason } = result.failure;
  if (code === 'invalid' && (reason === 'expired' || reason === 'revoked' || reason === 'disabled')) {
    return reason;
  }
  return KNOWN[code] ?? 'other';
}

/**
 * Upper bounds of the verification latency buckets, in seconds (Prometheus and
 * OpenTelemetry alike): a cached key takes microseconds, a store lookup milliseconds.
 */
export const VERIFICATION_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
]);
