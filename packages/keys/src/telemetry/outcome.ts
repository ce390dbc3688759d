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
