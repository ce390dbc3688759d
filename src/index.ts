/**
 * keyward: API-key authentication for TypeScript web APIs. The framework-neutral core;
 * adapters live at `keyward/hono` and friends.
 * @module
 */

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

// Verifying it
export {
  type AuthResult,
  createGuard,
  type Guard,
  type GuardOptions,
  type Verifier,
  type VerifyContext,
} from './core/guard.js';
export type { KeySource } from './core/request.js';
// Where the key travels
export {
  type ApiKeyLocation,
  type ApiKeyScheme,
  type ApiKeySchemeOptions,
  apiKeyCookie,
  apiKeyHeader,
  apiKeyQuery,
} from './core/schemes.js';
export { type StaticKey, type StaticPrincipal, staticKeys } from './core/static-keys.js';
// Key management: per-client keys, hashed stores, lifecycle, verification, audit
export * from './keys/index.js';
export { type DocsPageOptions, docsPage, type StaticAsset } from './openapi/docs-page.js';
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
