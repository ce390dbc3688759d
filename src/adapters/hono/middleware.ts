import type { Context, Env, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { FailureResponse } from '../../core/errors.js';
import { type AuthResult, createGuard, type Guard, type GuardOptions } from '../../core/guard.js';
import { type KeySource, queryOf } from '../../core/request.js';
import type { ApiKeyScheme } from '../../core/schemes.js';
import { GUARD, isGuard, PUBLIC } from '../../core/tags.js';
import { answersPublicly } from './endpoints.js';
import { noteUpgradeRefusal } from './refusals.js';

/** Hono `Env` for routes behind {@link apiKeyAuth}: the principal is `c.var.principal`. */
export interface KeywardEnv<P> extends Env {
  Variables: { principal: P };
}

interface NodeIncoming {
  headers: Record<string, string | string[] | undefined>;
  url?: string;
  socket?: { remoteAddress?: string };
}

// Reading Node's own header object (under @hono/node-server) avoids building a Fetch
// `Headers` for every request; elsewhere the standard Request is used.
function sourceOf(c: Context): KeySource {
  const incoming = (c.env as { incoming?: NodeIncoming } | undefined)?.incoming;
  if (incoming && typeof incoming.headers === 'object' && typeof incoming.url === 'string') {
    const url = incoming.url;
    const headers = incoming.headers;
    return {
      header: (name) => headers[name],
      query: () => queryOf(url),
      peer: () => incoming.socket?.remoteAddress,
    };
  }
  const raw = c.req.raw;
  return { header: (name) => raw.headers.get(name) ?? undefined, query: () => queryOf(raw.url) };
}

/** Writes a keyward failure as a Hono response. */
export function failureResponse(c: Context, response: FailureResponse): Response {
  return c.body(response.body, response.status as 401, response.headers);
}

const outcomes = new WeakMap<Context, { family: object; result: AuthResult<unknown> }>();

/**
 * Protects an app (`app.use(apiKeyAuth(...))`), a group (`app.use('/api/*', ...)`) or
 * one route (`app.get('/x', apiKeyAuth(...), handler)`). Declared at several levels with
 * the same guard (or guards derived by `guard.require(...)`), the key is verified once per
 * request and only the extra scopes are checked again.
 */
export function apiKeyAuth<P>(guard: Guard<P> | GuardOptions<P>): MiddlewareHandler<KeywardEnv<P>> {
  const resolved: Guard<P> = isGuard<P>(guard) ? guard : createGuard(guard);
  const keywardAuth: MiddlewareHandler<KeywardEnv<P>> = async function keywardAuth(c, next) {
    if (answersPublicly(matchedRoutes(c))) return next();
    const prior = outcomes.get(c);
    let result: AuthResult<P>;
    if (prior && prior.family === resolved.family) {
      result = resolved.authorize(prior.result as AuthResult<P>);
    } else {
      const pending = resolved.authenticate(sourceOf(c));
      result = pending instanceof Promise ? await pending : pending;
    }
    if (!result.ok) {
      const response = resolved.respond(result.failure);
      noteUpgradeRefusal(c, response);
      return failureResponse(c, response);
    }
    outcomes.set(c, { family: resolved.family, result });
    if (result.principal !== undefined) c.set('principal', result.principal);
    await next();
    if (result.headers) for (const name in result.headers) c.header(name, result.headers[name]);
    // Set after the handler so it survives handlers that return their own Response.
    const deprecation = result.scheme?.deprecation;
    if (deprecation !== undefined) c.header('Deprecation', deprecation);
  };
  return Object.assign(keywardAuth, { [GUARD]: resolved });
}

/**
 * Marks a route as public: guards installed with `app.use` do not run for it, and its
 * OpenAPI operation carries no lock. `app.get('/health', publicRoute(), handler)`.
 */
export function publicRoute(): MiddlewareHandler {
  const keywardPublic: MiddlewareHandler = async function keywardPublic(_c, next) {
    await next();
  };
  return Object.assign(keywardPublic, { [PUBLIC]: true as const });
}

/**
 * The scheme whose key authenticated this request (for logging where the key came from),
 * or `undefined` when no key was accepted or {@link apiKeyAuth} has not run.
 */
export function authSchemeOf(c: Context): ApiKeyScheme | undefined {
  const result = outcomes.get(c)?.result;
  return result?.ok ? result.scheme : undefined;
}

/** The principal of an authenticated request, typed. `undefined` for optional auth without a key. */
export function principalOf<P>(c: Context<KeywardEnv<P>>): P | undefined {
  return c.get('principal');
}
