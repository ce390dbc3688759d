import type { Context, Env, Handler, MiddlewareHandler, Next } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { FailureResponse } from '../core/failures.js';
import type { AuthResult, Guard, GuardOptions } from '../core/guard.js';
import type { ApiKeyScheme } from '../core/schemes.js';
import { authenticateOnce, outcomeOf, resolveGuard } from '../internal/http/guard.js';
import { GUARD, PUBLIC } from '../internal/markers.js';
import { noteUpgradeRefusal } from '../internal/upgrade-refusals.js';
import { answersPublicly } from './endpoints.js';
import { sourceOf } from './source.js';

/** Hono `Env` for routes behind {@link apiKeyAuth}: the principal is `c.var.principal`. */
export interface KeywardEnv<P> extends Env {
  Variables: { principal: P };
}

/**
 * Whether a `publicRoute()` declaration that runs after this guard answers the request
 * (see {@link answersPublicly}). The guard's own place in the chain is `c.req.routeIndex`
 * when that entry is this guard; otherwise (a wrapped guard) the first entry with it, or
 * the start of the chain.
 */
function leftToPublicRoute(c: Context, self: unknown): boolean {
  const routes = matchedRoutes(c);
  const index = c.req.routeIndex;
  const at = routes[index]?.handler === self ? index : routes.findIndex((r) => r.handler === self);
  return answersPublicly(routes, at);
}

/**
 * The response with `Cache-Control` added unless it has one (the route's own wins). Set on
 * the response's own headers: `c.header()` after the handler copies the response.
 */
function withCacheControl(response: Response, cacheControl: string): Response {
  if (!(response instanceof Response) || response.headers.has('cache-control')) return response;
  try {
    response.headers.set('cache-control', cacheControl);
    return response;
  } catch {
    // A response from fetch() has immutable headers: copy it once.
    const copy = new Response(response.body, response);
    copy.headers.set('cache-control', cacheControl);
    return copy;
  }
}

/** As {@link withCacheControl}, for the response a middleware chain answered (`c.res`). */
function addCacheControl(c: Context, cacheControl: string): void {
  const headers = c.res.headers;
  if (headers.has('cache-control')) return;
  try {
    headers.set('cache-control', cacheControl);
  } catch {
    c.header('cache-control', cacheControl);
  }
}

/** A keyward failure as a Hono response. */
function failureResponse(c: Context, response: FailureResponse): Response {
  return c.body(response.body, response.status as 401, response.headers);
}

/** Sets the result's headers (rate-limit fields, `Deprecation`) on the response being built. */
function setHeaders(c: Context, headers: Readonly<Record<string, string>> | undefined): void {
  if (headers !== undefined) for (const name in headers) c.header(name, headers[name]);
}

/**
 * Protects an app (`app.use(apiKeyAuth(...))`), a group (`app.use('/api/*', ...)`) or
 * one route (`app.get('/x', apiKeyAuth(...), handler)`). Declared at several levels with
 * the same guard (or guards derived by `guard.require(...)`), the key is verified once per
 * request and only the extra scopes are checked again.
 */
export function apiKeyAuth<P>(guard: Guard<P> | GuardOptions<P>): MiddlewareHandler<KeywardEnv<P>> {
  const resolved = resolveGuard(guard);

  function proceed(c: Context<KeywardEnv<P>>, next: Next, result: AuthResult<P>): Response | Promise<void> {
    if (!result.ok) {
      const response = resolved.respond(result.failure);
      noteUpgradeRefusal(c, response);
      return failureResponse(c, response);
    }
    if (result.principal !== undefined) c.set('principal', result.principal);
    const cacheControl = result.cacheControl;
    // No await when there is nothing to add: Hono's compose then stays on its fast path.
    if (result.headers === undefined && cacheControl === undefined) return next();
    return next().then(() => {
      // Set after the handler so they survive handlers that return their own Response.
      setHeaders(c, result.headers);
      if (cacheControl !== undefined) addCacheControl(c, cacheControl);
    });
  }

  // Hono awaits whatever a middleware returns, so a sync Response is fine at run time.
  const keywardAuth = function keywardAuth(c: Context<KeywardEnv<P>>, next: Next) {
    if (publicMarkers > 0 && leftToPublicRoute(c, keywardAuth)) return next();
    const pending = authenticateOnce(resolved, c, sourceOf);
    if (pending instanceof Promise)
      return pending.then<Response | void>((result) => proceed(c, next, result));
    return proceed(c, next, pending);
  } as MiddlewareHandler<KeywardEnv<P>>;
  return Object.assign(keywardAuth, { [GUARD]: resolved });
}

/**
 * A route's only handler, guarded: `app.get('/x', protect(guard, (c) => c.json(...)))`.
 * Behaves as `apiKeyAuth` placed before the handler, but a route with a single handler is
 * answered by Hono without its middleware chain, which is measurably faster. Response
 * headers (rate limits, `Deprecation`) are set before the handler runs, so they reach
 * responses built with `c.json()` or `c.body()`, not a `Response` the handler builds itself;
 * `Cache-Control` is added to whatever the handler returns, unless it has its own.
 */
export function protect<P>(
  guard: Guard<P> | GuardOptions<P>,
  handler: (c: Context<KeywardEnv<P>>) => Response | Promise<Response>,
): Handler<KeywardEnv<P>> {
  const resolved = resolveGuard(guard);

  function proceed(c: Context<KeywardEnv<P>>, result: AuthResult<P>): Response | Promise<Response> {
    if (!result.ok) {
      const response = resolved.respond(result.failure);
      noteUpgradeRefusal(c, response);
      return failureResponse(c, response);
    }
    if (result.principal !== undefined) c.set('principal', result.principal);
    setHeaders(c, result.headers);
    const response = handler(c);
    const cacheControl = result.cacheControl;
    if (cacheControl === undefined) return response;
    // Checked on what the handler returned, its own Response included.
    if (!(response instanceof Promise)) return withCacheControl(response, cacheControl);
    return response.then((r) => withCacheControl(r, cacheControl));
  }

  // The route itself is guarded: no publicRoute() elsewhere can open it.
  const keywardProtected = function keywardProtected(c: Context<KeywardEnv<P>>) {
    const pending = authenticateOnce(resolved, c, sourceOf);
    if (pending instanceof Promise) return pending.then((result) => proceed(c, result));
    return proceed(c, pending);
  };
  return Object.assign(keywardProtected, { [GUARD]: resolved }) as unknown as Handler<KeywardEnv<P>>;
}

// No publicRoute() anywhere in the process: no route can be public, skip the lookup.
let publicMarkers = 0;

/**
 * Marks a route as public: guards installed with `app.use` do not run for it, and its
 * OpenAPI operation carries no lock. `app.get('/health', publicRoute(), handler)`.
 * It applies to its own declaration only, and must come first in it: a declaration of the
 * same method and path made before it, or another route that answers first, stays
 * guarded. Guards declared after it (`publicRoute(), apiKeyAuth(optional), handler`) run.
 */
export function publicRoute(): MiddlewareHandler {
  publicMarkers++;
  const keywardPublic: MiddlewareHandler = async function keywardPublic(_c, next) {
    await next();
  };
  return Object.assign(keywardPublic, { [PUBLIC]: true as const });
}

/**
 * What the guard concluded for this request: `{ ok: true, principal, scheme }` or
 * `{ ok: false, failure }` (its `code`, and for an `invalid` key the `reason`, never the
 * key); `undefined` when no guard ran. For request logs and metrics.
 */
export function authResultOf(c: Context): AuthResult<unknown> | undefined {
  return outcomeOf(c);
}

/**
 * The scheme whose key authenticated this request (for logging where the key came from),
 * or `undefined` when no key was accepted or {@link apiKeyAuth} has not run.
 */
export function authSchemeOf(c: Context): ApiKeyScheme | undefined {
  const result = outcomeOf(c);
  return result?.ok ? result.scheme : undefined;
}

/** The principal of an authenticated request, typed. `undefined` for optional auth without a key. */
export function principalOf<P>(c: Context<KeywardEnv<P>>): P | undefined {
  return c.get('principal');
}
