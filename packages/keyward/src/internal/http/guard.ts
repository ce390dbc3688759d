import { type AuthResult, createGuard, type Guard, type GuardOptions } from '../../core/guard.js';
import { isGuard } from '../markers.js';

/** Accepts a guard or the options to create one (validated here, once). */
export function resolveGuard<P>(guard: Guard<P> | GuardOptions<P>): Guard<P> {
  return isGuard<P>(guard) ? guard : createGuard(guard);
}

/** What guards concluded for a request; later guards of the first one's family reuse it. */
interface Outcome {
  readonly family: object;
  /** The latest result, a refusal included (for logs). */
  readonly result: AuthResult<unknown>;
  /** The latest result that let the request through, if any: its principal. */
  readonly passed: AuthResult<unknown> | undefined;
}

// On the request object (a Node request, a Hono Context, a fetch Request) under a private
// symbol: a property costs almost nothing where a WeakMap get and set cost about a
// microsecond. Symbols do not enumerate, so loggers and serializers do not see it.
const OUTCOME: unique symbol = Symbol('keyward.outcome');
type Marked = { [OUTCOME]?: Outcome };

function record<P>(holder: object, guard: Guard<P>, result: AuthResult<P>): AuthResult<P> {
  const marked = holder as Marked;
  // Refusals too, for request logs (`authResultOf`), keeping the principal a guard before
  // accepted: a 403 for a missing scope is still that key's request.
  const passed = result.ok ? result : marked[OUTCOME]?.passed;
  const family = result.ok ? guard.family : (marked[OUTCOME]?.family ?? guard.family);
  marked[OUTCOME] = { family, result, passed };
  return result;
}

/**
 * Authenticates the request `holder` stands for, once per guard family: a request already
 * let through by a guard of the same family (the guard and those derived with
 * `guard.require`) is not verified again, only the extra scopes are checked. `source`
 * reads the key; it is not called when the outcome is reused. Sync whenever the verifier is.
 */
export function authenticateOnce<P, H extends object, F = H>(
  guard: Guard<P>,
  holder: H,
  source: (from: F) => Parameters<Guard<P>['authenticate']>[0],
  // What `source` reads, when it is not the holder (a Fastify request, marked on its raw one).
  from: F = holder as unknown as F,
): AuthResult<P> | Promise<AuthResult<P>> {
  const prior = (holder as Marked)[OUTCOME];
  if (prior?.passed !== undefined && prior.family === guard.family) {
    return record(holder, guard, guard.authorize(prior.passed as AuthResult<P>));
  }
  const pending = guard.authenticate(source(from));
  if (pending instanceof Promise) return pending.then((result) => record(holder, guard, result));
  return record(holder, guard, pending);
}

/** What keyward concluded for a request: let through or refused, `undefined` before any guard ran. */
export function outcomeOf(holder: object): AuthResult<unknown> | undefined {
  return (holder as Marked)[OUTCOME]?.result;
}

/** The principal of a request let through by keyward; `undefined` otherwise (or for optional auth without a key). */
export function recordedPrincipal<P>(holder: object): P | undefined {
  const passed = (holder as Marked)[OUTCOME]?.passed;
  return passed?.ok ? (passed.principal as P | undefined) : undefined;
}
