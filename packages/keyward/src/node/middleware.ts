import type { IncomingMessage, ServerResponse } from 'node:http';
import { UNAVAILABLE } from '../core/failures.js';
import type { AuthResult, Guard, GuardOptions } from '../core/guard.js';
import { authenticateOnce, recordedPrincipal, resolveGuard } from '../internal/http/guard.js';
import { type NodeRequestLike, nodeKeySource, setAuthHeaders, writeFailure } from '../internal/http/node.js';
import { GUARD } from '../internal/markers.js';

/**
 * Authenticates a Node request (`req.headers`, `req.url`) and returns the principal or the
 * failure to send (`writeFailure(res, guard.respond(result.failure))`); on success,
 * `setAuthHeaders(res, result)` adds rate-limit, `Deprecation` and `Cache-Control`
 * headers. Sync whenever the verifier is. A request already let through by a guard of the
 * same family (the guard and those derived with `guard.require`) is not verified again:
 * only the extra scopes are checked.
 */
export function authenticateRequest<P>(
  guard: Guard<P>,
  req: NodeRequestLike,
): AuthResult<P> | Promise<AuthResult<P>> {
  return authenticateOnce(guard, req, nodeKeySource);
}

/** The principal of a request let through by keyward; `undefined` otherwise (or for optional auth without a key). */
export function principalOf<P = unknown>(req: NodeRequestLike): P | undefined {
  return recordedPrincipal<P>(req);
}

/** A connect-style `(req, res, next)` middleware. */
export type NodeMiddleware = (
  req: IncomingMessage,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void;

/**
 * `(req, res, next)` middleware for node:http and connect-style stacks: calls `next()`
 * when the request is let through (principal: {@link principalOf}), otherwise writes the
 * failure itself. No promise is created when the verifier is sync.
 *
 * @example
 * ```ts
 * const auth = apiKeyAuth(guard);
 * createServer((req, res) => auth(req, res, () => res.end(JSON.stringify(principalOf(req)))));
 * ```
 */
export function apiKeyAuth<P>(guard: Guard<P> | GuardOptions<P>): NodeMiddleware {
  const resolved = resolveGuard(guard);
  const finish = (result: AuthResult<P>, res: ServerResponse, next: () => void) => {
    if (!result.ok) {
      writeFailure(res, resolved.respond(result.failure));
      return;
    }
    setAuthHeaders(res, result);
    next();
  };
  const keywardAuth: NodeMiddleware = function keywardAuth(req, res, next) {
    const result = authenticateRequest(resolved, req);
    if (result instanceof Promise) {
      result.then(
        (settled) => finish(settled, res, next),
        () => writeFailure(res, resolved.respond(UNAVAILABLE)),
      );
      return;
    }
    finish(result, res, next);
  };
  return Object.assign(keywardAuth, { [GUARD]: resolved });
}
