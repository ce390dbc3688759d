import type { RateDecision } from './limiter.js';

/**
 * IETF `RateLimit-Policy` and `RateLimit` fields (draft-ietf-httpapi-ratelimit-headers,
 * structured-field form): `RateLimit-Policy: "key";q=100;w=60`, `RateLimit: "key";r=42;t=30`.
 */
export function rateLimitHeaders(policy: string, d: RateDecision): Record<string, string> {
  const headers: Record<string, string> = {
    'ratelimit-policy': `"${policy}";q=${d.limit};w=${d.windowSeconds}`,
    ratelimit: `"${policy}";r=${d.remaining};t=${d.resetSeconds}`,
  };
  return headers;
}
