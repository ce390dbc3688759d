import type { IncomingMessage, ServerResponse } from 'node:http';
import { AuthFailure } from '../core/failures.js';
import { type AuthResult, createGuard, type Guard, type GuardOptions } from '../core/guard.js';
import { GUARD, isGuard } from '../internal/markers.js';
import { setAuthHeaders, writeFailure } from './respond.js';
import { type NodeRequestLike, nodeKeySource } from './source.js';

/** What the first guard of a family concluded for a request; later guards of that family reuse it. */
interface Outcome {
  readonly family: object;
  readonly result: AuthResult<unknown>;
}

const OUTCOME: unique symbol = Symbol('keyward.outcome');
type Marked = NodeRequestLike & { [OUTCOME]?: Outcome };

/** Accepts a guard or the options to create one (validated here, once). */
export function resolveGuard<P>(guard: Guard<P> | GuardOptions<P>): Guard<P> {
  return isGuard<P>(guard) ? guard : createGuard(guard);
}

function record<P>(req: NodeRequestLike, guard: Guard<P>, result: AuthResult<P>): AuthResult<P> {
  if (result.ok) (req as Marked)[OUTCOME] = { family: guard.family, result };
  return result;
}

/**
 * Authenticates a Node request (`req.headers`, `req.url`) and returns the principal or the
 * failure to send (`writeFailure(res, guard.respond(result.failure))`); on success,
 * `setAuthHeaders(res, result)` adds rate-limit and `Deprecation` headers. Sync whenever the
 * verifier is. A request already let through by a guard of the same family (the guard and
 * those derived with `guard.require`) is not verified again: only the extra scopes are checked.
 */
export function authenticateRequest<P>(
  guard: Guard<P>,
  req: NodeRequestLike,
): AuthResult<P> | Promise<AuthResult<P>> {
  const prior = (req as Marked)[OUTCOME];
  if (prior !== undefined && prior.family === guard.family) {
    return record(req, guard, guard.authorize(prior.result as AuthResult<P>));
  }
  const pending = guard.authenticate(nodeKeySource(req));
  if (pending instanceof Promise) return pending.then((result) => record(req, guard, result));
  return record(req, guard, pending);
}

/** The principal of a request let through by keyward; `undefined` otherwise (or for optional auth without a key). */
export function principalOf<P = unknown>(req: NodeRequestLike): P | undefined {
  const outcome = (req as Marked)[OUTCOME];
  return outcome?.result.ok ? (outcome.result.principal as P | undefined) : undefined;
}

/** A connect-style `(req, res, next)` middleware. */
export type NodeMiddleware = (
  req: IncomingMessage,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void;

/** The 503 written if verification fails in a way the guard did not turn into a result. */
export function unavailable<P>(guard: Guard<P>) {
  return guard.respond(new AuthFailure('unavailable', 5));
}

/**
 * `(req, res, next)` middleware for node:http and connect-style stacks: calls `next()`
 * when the request is let through (principal: {@link principalOf}), otherwise writes the
 * failure itself. No promise is created when the verifier is sync.
 */
export function apiKeyAuth<P>(guard: Guard<P> | GuardOptions<P>): NodeMiddleware & { [GUARD]: Guard<P> } {
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
        () => writeFailure(res, unavailable(resolved)),
      );
      return;
    }
    finish(result, res, next);
  };
  return Object.assign(keywardAuth, { [GUARD]: resolved });
}
