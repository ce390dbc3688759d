/**
 * keyward: API-key authentication for TypeScript web APIs. The framework-neutral core,
 * key management and rate limits; adapters live at `keyward/hono`, `keyward/express`,
 * `keyward/fastify`, `keyward/node` and `keyward/fetch`.
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
} from './core/schemes.js';
export type { KeySource } from './core/request.js';

// Verifying it
export {
  type AuthResult,
  createGuard,
  type Guard,
  type GuardOptions,
  type Verifier,
  type VerifyContext,
  type VerifyOutcome,
} from './core/guard.js';
export { type StaticKey, type StaticPrincipal, staticKeys } from './core/static-keys.js';

// What a failure looks like
export {
  AuthFailure,
  deny,
  type FailureCode,
  type FailureResponder,
  type FailureResponse,
  jsonFailure,
  KeywardConfigError,
  problemJsonFailure,
} from './core/errors.js';

// How it is described in OpenAPI
export {
  applySecurity,
  buildOpenApiDocument,
  type OpenApiDocument,
  type OpenApiInfo,
  type OperationObject,
  type RouteDescription,
} from './openapi/document.js';
export {
  type ApiKeySecurityScheme,
  type SecurityRequirement,
  SecuritySchemeRegistry,
  securityRequirements,
  securitySchemeObject,
} from './openapi/security.js';
export { type DocsPageOptions, docsPage, type StaticAsset } from './openapi/docs-page.js';

// Key management: per-client keys, hashed stores, lifecycle, verification, audit
export * from './keys/index.js';

// Rate limits
export type { GuardLimits, LimitRule } from './core/limits.js';
export { type LimitOptions, rateLimits } from './ratelimit/auth-limits.js';
export { type ClientAddressOptions, clientAddressResolver } from './ratelimit/client-address.js';
export {
  type FailMode,
  LimiterTimeoutError,
  LimiterUnavailableError,
  type MemoryRateLimiter,
  type MemoryRateLimiterOptions,
  memoryRateLimiter,
  type RateDecision,
  type RateLimiter,
  type RateLimitRule,
  type RedisRateLimiterOptions,
  redisRateLimiter,
} from './ratelimit/limiter.js';
