import { UNAVAILABLE } from '../core/failures.js';
import type { AuthResult, Guard, GuardOptions } from '../core/guard.js';
import { failureResponse, fetchKeySource, withAuthHeaders } from '../internal/http/fetch.js';
import { authenticateOnce, recordedPrincipal, resolveGuard } from '../internal/http/guard.js';
import { GUARD } from '../internal/markers.js';

/**
 * Authenticates a Web `Request`: the principal, or the failure to answer with
 * (`failureResponse(guard.respond(result.failure))`). Sync whenever the verifier is. A
 * request already let through by a guard of the same family is not verified again.
 */
export function authenticateRequest<P>(
  guard: Guard<P>,
  request: Request,
): AuthResult<P> | Promise<AuthResult<P>> {
  return authenticateOnce(guard, request, fetchKeySource);
}

/** The principal of a request let through by keyward; `undefined` otherwise (or for optional auth without a key). */
export function principalOf<P = unknown>(request: Request): P | undefined {
  return recordedPrincipal<P>(request);
}

/** A fetch handler that receives the principal after the request: `(request, principal, ...rest)`. */
export type AuthenticatedHandler<P, A extends unknown[]> = (
  request: Request,
  principal: P,
  ...rest: A
) => Response | Promise<Response>;

/**
 * Wraps a fetch handler (`(request, ...rest) => Response`, as Bun, Deno, workers and
 * `@hono/node-server` call it) so it only runs for requests with a valid key; the others
 * get the guard's JSON failure. Extra arguments (`env`, `ctx`, `info`) pass through. No
 * promise is added when the verifier is sync. `principal` is `undefined` for optional auth
 * without a key.
 *
 * @example
 * ```ts
 * export default { fetch: apiKeyAuth(guard, (request, principal) => Response.json({ principal })) };
 * ```
 */
export function apiKeyAuth<P, A extends unknown[] = []>(
  guard: Guard<P> | GuardOptions<P>,
  handler: AuthenticatedHandler<P, A>,
): (request: Request, ...rest: A) => Response | Promise<Response> {
  const resolved = resolveGuard(guard);
  const unavailable = () => failureResponse(resolved.respond(UNAVAILABLE));
  const run = (result: AuthResult<P>, request: Request, rest: A): Response | Promise<Response> => {
    if (!result.ok) return failureResponse(resolved.respond(result.failure));
    const response = handler(request, result.principal as P, ...rest);
    if (result.headers === undefined && result.cacheControl === undefined) return response;
    if (!(response instanceof Promise)) return withAuthHeaders(response, result);
    return response.then((r) => withAuthHeaders(r, result));
  };
  const keywardFetch = (request: Request, ...rest: A): Response | Promise<Response> => {
    let result: AuthResult<P> | Promise<AuthResult<P>>;
    try {
      result = authenticateRequest(resolved, request);
    } catch {
      // Fail closed with JSON even where the guard cannot report (no `process` on workers).
      return unavailable();
    }
    if (result instanceof Promise) return result.then((r) => run(r, request, rest), unavailable);
    return run(result, request, rest);
  };
  return Object.assign(keywardFetch, { [GUARD]: resolved });
}

/** The same as {@link apiKeyAuth}: the name earlier versions used. */
export const withApiKey = apiKeyAuth;
