/**
 * keyward for Fastify 5: a plugin that guards routes in `onRequest` (before any body is
 * parsed), per-route `config.keyward`, `request.principal`, and `security` /
 * `securitySchemes` in the @fastify/swagger document.
 * @module
 */
export { apiKeyAuth, type KeywardFastifyOptions, keyward, principalOf } from './plugin.js';
export { withSecurity } from './swagger.js';
export type { FastifyPrincipal, Register, RouteAuth } from './types.js';
