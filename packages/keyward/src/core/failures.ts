/** Thrown at startup when options cannot work: a bad scheme name, a scheme-name clash, a bad key set. */
export class KeywardConfigError extends Error {
  override readonly name = 'KeywardConfigError';
}

/** Stable, documented reasons an authentication attempt can fail. */
export type FailureCode =
  | 'missing'
  | 'duplicate'
  | 'invalid'
  | 'insufficient_scope'
  | 'restricted'
  | 'usage_exceeded'
  | 'rate_limited'
  | 'unavailable';

const STATUS: Record<FailureCode, number> = {
  missing: 401,
  duplicate: 400,
  invalid: 401,
  insufficient_scope: 403,
  restricted: 403,
  usage_exceeded: 429,
  rate_limited: 429,
  unavailable: 503,
};

const DETAIL: Record<FailureCode, string> = {
  missing: 'Not authenticated',
  duplicate: 'API key sent more than once',
  invalid: 'Invalid API Key',
  insufficient_scope: 'Insufficient scope',
  restricted: 'API key not allowed here',
  usage_exceeded: 'API key usage limit exceeded',
  rate_limited: 'Too many requests',
  unavailable: 'Authentication temporarily unavailable',
};

// A registry symbol: a failure made by another copy of keyward (two versions installed)
// is still recognised as a failure, never taken for a principal.
const BRAND = Symbol.for('keyward.failure');

/**
 * Why a request was refused, for logs and metrics only, never sent: for `invalid`, which
 * kind of unusable key (every one gets the same 401, so a client learns nothing about
 * which); for `rate_limited`, `address` when the client's address is blocked for failed
 * attempts (otherwise the key's own limit).
 */
export type FailureReason = 'unknown' | 'malformed' | 'expired' | 'revoked' | 'disabled' | 'address';

/**
 * Why a request was not let through. Verifiers may return one to deny with a specific
 * reason; it never carries the presented key.
 */
export class AuthFailure {
  readonly status: number;
  readonly detail: string;
  declare readonly [BRAND]: true;
  constructor(
    readonly code: FailureCode,
    /** Seconds the client should wait (rate limits, outages); sent as `Retry-After`. */
    readonly retryAfter?: number,
    /** Extra response headers, e.g. IETF `RateLimit` fields. */
    readonly headers?: Readonly<Record<string, string>>,
    /** For observers and logs, never sent: why the request was refused. */
    readonly reason?: FailureReason,
    /** For observers and logs, never sent: the id of the key refused, when it is known. */
    readonly keyId?: string,
  ) {
    this.status = STATUS[code];
    this.detail = DETAIL[code];
  }

  static {
    Object.defineProperty(AuthFailure.prototype, BRAND, { value: true });
  }
}

/** Whether a value is an {@link AuthFailure}, from this copy of keyward or another. */
export function isAuthFailure(value: unknown): value is AuthFailure {
  return (value as { [BRAND]?: unknown } | null | undefined)?.[BRAND] === true;
}

/** Seconds a client is asked to wait when authentication is unavailable (a store or Redis down). */
export const UNAVAILABLE_RETRY_AFTER = 5;

/** The one `unavailable` failure: 503 with `Retry-After`, shared by the guard, the limits and the adapters. */
export const UNAVAILABLE: AuthFailure = new AuthFailure('unavailable', UNAVAILABLE_RETRY_AFTER);

/** Shorthand for verifiers: `return deny('insufficient_scope')`. */
export function deny(
  code: FailureCode,
  retryAfter?: number,
  headers?: Readonly<Record<string, string>>,
): AuthFailure {
  return new AuthFailure(code, retryAfter, headers);
}

/** A framework-neutral HTTP response that adapters write as they are. */
export interface FailureResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Builds the response for a failure; replace it to answer 403 for legacy clients or problem+json. */
export type FailureResponder = (failure: AuthFailure) => FailureResponse;

function headersFor(failure: AuthFailure, contentType: string): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': contentType,
    'cache-control': 'no-store',
  };
  // RFC 9110 §11.6.1: every 401 carries a challenge.
  if (failure.status === 401) headers['www-authenticate'] = 'APIKey';
  if (failure.retryAfter !== undefined)
    headers['retry-after'] = String(Math.max(0, Math.ceil(failure.retryAfter)));
  if (failure.headers) Object.assign(headers, failure.headers);
  return headers;
}

/** FastAPI-compatible body: `{"detail": "..."}`. */
export const jsonFailure: FailureResponder = (failure) => ({
  status: failure.status,
  headers: headersFor(failure, 'application/json'),
  body: JSON.stringify({ detail: failure.detail }),
});

/** RFC 9457 problem details, with the stable failure code as `code`. */
export const problemJsonFailure: FailureResponder = (failure) => ({
  status: failure.status,
  headers: headersFor(failure, 'application/problem+json'),
  body: JSON.stringify({
    type: `https://keyward.dev/problems/${failure.code}`,
    title: failure.detail,
    status: failure.status,
    code: failure.code,
  }),
});
