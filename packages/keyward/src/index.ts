/**
 * keyward: API-key authentication for TypeScript web APIs. The runtime-neutral core:
 * where the key travels, the guard that checks it, what a failure looks like, rate limits
 * and the OpenAPI description. Adapters live at `keyward/hono`, `keyward/express`,
 * `keyward/fastify`, `keyward/node` and `keyward/fetch`; shared Redis counters at
 * `keyward/redis`; per-client keys in `@keyward/keys`.
 * @module
 */
// biome-ignore-all assist/source/organizeImports: exports are grouped by purpose, not sorted.

// Where the key travels
export {
  type ApiKeyLocation,
  type ApiKeyScheme,
  type ApiKeySchemeOptions,
  apiKeyCookie,
  apiKeyHeader,
  apiKeyQuery,
  type HttpBearerOptions,
  type HttpBearerScheme,
  httpBearer,
} from './core/schemes.js';

// Checking it
export {
  type AuthResult,
  createGuard,
  type Guard,
  type GuardOptions,
  type RouteOptions,
  type Verifier,
  type VerifyContext,
  type VerifyOutcome,
} from './core/guard.js';
export type { KeySource } from './core/request.js';
export { type Receipt, type Spendable, type Spent, spendable } from './core/verdict.js';
export { type StaticKey, type StaticPrincipal, staticKeys } from './core/static-keys.js';

// What a refusal looks like
export {
  AuthFailure,
  deny,
  type FailureCode,
  type FailureReason,
  type FailureResponder,
  type FailureResponse,
  jsonFailure,
  KeywardConfigError,
  problemJsonFailure,
} from './core/failures.js';

// Where a key may be used
export {
  type ClientAddressReader,
  isRestriction,
  type RequestRestriction,
} from './core/restriction.js';
export {
  type CompileRestrictionsOptions,
  CompiledRestrictions,
  combineRestrictions,
  compileRestrictions,
  MAX_RESTRICTION_ENTRIES,
  type Restrictions,
  restriction,
} from './restrictions/restrictions.js';

// Rate limits
export type { GuardLimits } from './core/limits.js';
export { type LimitOptions, rateLimits } from './limits/rate-limits.js';
export type { ClientAddressOptions } from './limits/client-address.js';
export {
  type FailMode,
  LimiterUnavailableError,
  type MemoryRateLimiter,
  type MemoryRateLimiterOptions,
  memoryRateLimiter,
  type RateDecision,
  type RateLimiter,
  type RateLimitRule,
} from './limits/limiter.js';

// The OpenAPI description
export {
  applySecurity,
  buildOpenApiDocument,
  type OpenApiDocument,
  type OpenApiInfo,
  type RouteDescription,
} from './openapi/document.js';
