/**
 * keyward for Web-standard `Request`/`Response` handlers (Bun, Deno, workers, Node 20+).
 * Nothing on this path imports a `node:` module or uses `Buffer`; the guard and schemes
 * come from the `keyward` root entry, which is just as portable.
 * @module
 */
export { failureResponse, fetchKeySource, withAuthHeaders } from '../internal/http/fetch.js';
export { type OpenApiSecurity, openApiSecurity } from '../openapi/security-parts.js';
export {
  type AuthenticatedHandler,
  apiKeyAuth,
  authenticateRequest,
  principalOf,
  withApiKey,
} from './fetch.js';
