import type { Guard } from '../core/guard.js';

/**
 * Declare your principal type once to type `request.principal`:
 *
 * ```ts
 * declare module 'keyward/fastify' {
 *   interface Register { principal: ApiClient }
 * }
 * ```
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by users through declaration merging.
export interface Register {}

/** `request.principal`'s type: `Register['principal']`, or `unknown` until declared. */
export type FastifyPrincipal = Register extends { principal: infer P } ? P : unknown;

/**
 * A route's `config.keyward`: `false` public, `true` the plugin's guard (needed with
 * `global: false`), another guard (e.g. `guard.require('admin')`), or extra scopes.
 */
// biome-ignore lint/suspicious/noExplicitAny: a route may name a guard of any principal type.
export type RouteAuth = boolean | Guard<any> | { scopes: readonly string[] };

declare module 'fastify' {
  interface FastifyContextConfig {
    /** keyward for this route: `false` public, `true`, a guard, or `{ scopes }`. */
    keyward?: RouteAuth;
  }
  interface FastifyRequest {
    /** Who the API key belongs to; `undefined` on public routes and for optional auth without a key. */
    principal?: FastifyPrincipal;
  }
}
