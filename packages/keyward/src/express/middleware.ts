import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { UNAVAILABLE } from '../core/failures.js';
import type { AuthResult, Guard, GuardOptions } from '../core/guard.js';
import { authenticateOnce, resolveGuard } from '../internal/http/guard.js';
import { NodeKeySource, setAuthHeaders, writeFailure } from '../internal/http/node.js';
import { GUARD } from '../internal/markers.js';
import { operationId } from '../openapi/document.js';
import { join, toOpenApiPath } from './describe.js';

/**
 * An Express request as keyward reads it, with the operation id the app's OpenAPI
 * document gives its route, known where the guard runs on the route itself
 * (`app.get(path, apiKeyAuth(guard), handler)`); in `app.use` middleware there is none.
 */
class ExpressKeySource extends NodeKeySource {
  readonly #req: Request;
  constructor(req: Request) {
    super(req);
    this.#req = req;
  }
  operation(): string | undefined {
    const path = (this.#req.route as { path?: unknown } | undefined)?.path;
    if (typeof path !== 'string') return undefined;
    const method = this.#req.method === 'HEAD' ? 'get' : this.#req.method.toLowerCase();
    return operationId(method, toOpenApiPath(join(this.#req.baseUrl ?? '', path)));
  }
}

const expressKeySource = (req: Request) => new ExpressKeySource(req);

/**
 * Declare your principal type once to type `req.principal` everywhere:
 *
 * ```ts
 * declare module 'keyward/express' {
 *   interface Register { principal: ApiClient }
 * }
 * ```
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by users through declaration merging.
export interface Register {}

/** `req.principal`'s type: `Register['principal']`, or `unknown` until declared. */
export type ExpressPrincipal = Register extends { principal: infer P } ? P : unknown;

declare global {
  namespace Express {
    interface Request {
      /**
       * Who the API key belongs to, set by keyward's `apiKeyAuth`. `undefined` on routes it
       * does not guard and for optional auth without a key.
       */
      principal?: ExpressPrincipal;
    }
  }
}

/**
 * Express 5 middleware: `app.use(apiKeyAuth(guard))`, `router.use(...)` or
 * `app.get('/x', apiKeyAuth(guard), handler)`. The principal lands on `req.principal`.
 * Failures are written as JSON directly, never through the app's (HTML) error handler.
 * Declared at several levels with guards of one family (a guard and `guard.require(...)`),
 * the key is verified once per request and only the extra scopes are checked again.
 * Express runs middleware in declaration order: routes declared before
 * `app.use(apiKeyAuth(...))` are public, and `describeRoutes` documents them so.
 */
export function apiKeyAuth<P = ExpressPrincipal>(guard: Guard<P> | GuardOptions<P>): RequestHandler {
  const resolved = resolveGuard(guard);
  const finish = (result: AuthResult<P>, req: Request, res: Response, next: NextFunction) => {
    if (!result.ok) {
      writeFailure(res, resolved.respond(result.failure));
      return;
    }
    if (result.principal !== undefined) req.principal = result.principal as ExpressPrincipal;
    setAuthHeaders(res, result);
    next();
  };
  const keywardAuth: RequestHandler = function keywardAuth(req, res, next) {
    const result = authenticateOnce(resolved, req, expressKeySource);
    if (result instanceof Promise) {
      result.then(
        (settled) => finish(settled, req, res, next),
        () => writeFailure(res, resolved.respond(UNAVAILABLE)),
      );
      return;
    }
    finish(result, req, res, next);
  };
  return Object.assign(keywardAuth, { [GUARD]: resolved });
}

/** `req.principal` with a type of your choice, for code that does not declare {@link Register}. */
export function principalOf<P = ExpressPrincipal>(req: Request): P | undefined {
  return req.principal as P | undefined;
}
