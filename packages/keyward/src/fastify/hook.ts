import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { type FailureResponse, UNAVAILABLE } from '../core/failures.js';
import type { AuthResult, Guard } from '../core/guard.js';
import { authenticateOnce } from '../internal/http/guard.js';
import { applyAuthHeaders, failureBody, NodeKeySource } from '../internal/http/node.js';
import type { FastifyPrincipal } from './types.js';

/** The guard for a route's `config.keyward`, `null` when the route is public. Throws on a bad value. */
export type ChooseGuard = (setting: unknown) => Guard | null;

function sendFailure(reply: FastifyReply, response: FailureResponse): void {
  reply.code(response.status);
  for (const name in response.headers) reply.header(name, response.headers[name]);
  // A Buffer is sent as it is: a string would get "; charset=utf-8" appended to its type.
  reply.send(failureBody(response));
}

/** Applies one guard's result; false when the request was answered. */
function accept(
  guard: Guard,
  result: AuthResult<unknown>,
  request: FastifyRequest,
  reply: FastifyReply,
): boolean {
  if (!result.ok) {
    sendFailure(reply, guard.respond(result.failure));
    return false;
  }
  if (result.principal !== undefined) request.principal = result.principal as FastifyPrincipal;
  // Set before the handler: a Cache-Control the route sets replaces it.
  applyAuthHeaders(reply, result);
  return true;
}

/** A Fastify request as keyward reads it: its raw request, and its route's `schema.operationId`. */
class FastifyKeySource extends NodeKeySource {
  readonly #request: FastifyRequest;
  constructor(request: FastifyRequest) {
    super(request.raw);
    this.#request = request;
  }
  operation(): string | undefined {
    const id = (this.#request.routeOptions.schema as { operationId?: unknown } | undefined)?.operationId;
    return typeof id === 'string' ? id : undefined;
  }
}

const fastifyKeySource = (request: FastifyRequest) => new FastifyKeySource(request);

/**
 * The context-wide `onRequest` hook of one plugin registration. Being a context hook, it
 * runs for every route of the context and its children whenever they were declared
 * (Fastify builds each route's hook list at startup), and before the body is read. The
 * route's choice is read from its final `config.keyward`. Several registrations add one
 * hook each; `authenticateRequest` verifies a key once per request for guards of one
 * family. Callback style and no promise for sync verifiers: an async hook would cost one
 * per request.
 */
export function onRequestHook(choose: ChooseGuard): onRequestHookHandler {
  return function keywardOnRequest(request, reply, done) {
    // Unknown routes reach the 404 handler, which keyward leaves alone (as before any route).
    if (request.is404) return done();
    let guard: Guard | null;
    try {
      guard = choose(request.routeOptions.config.keyward);
    } catch (error) {
      // Checked at startup; should a value still be wrong here, the request fails closed.
      return done(error as Error);
    }
    if (guard === null) return done();
    const chosen = guard;
    const result = authenticateOnce(chosen, request.raw, fastifyKeySource, request);
    if (result instanceof Promise) {
      result.then(
        (settled) => {
          if (accept(chosen, settled, request, reply)) done();
        },
        () => sendFailure(reply, chosen.respond(UNAVAILABLE)),
      );
      return;
    }
    if (accept(chosen, result, request, reply)) done();
  };
}
