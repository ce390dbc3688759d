import { AuthFailure, type FailureResponse } from '../core/failures.js';
import { type AuthResult, createGuard, type Guard, type GuardOptions } from '../core/guard.js';
import { type KeySource, queryOf } from '../core/request.js';
import { GUARD, isGuard } from '../internal/markers.js';

class FetchKeySource implements KeySource {
  readonly #request: Request;
  constructor(request: Request) {
    this.#request = request;
  }
  // Repeated lines come joined with ", " (Cookie lines with "; "), which the core counts as
  // a duplicate.
  header(lowerName: string): string | undefined {
    return this.#request.headers.get(lowerName) ?? undefined;
  }
  query(): string {
    return queryOf(this.#request.url);
  }
}

/** A {@link KeySource} over a Web `Request` (no copy of its headers). */
export function fetchKeySource(request: Request): KeySource {
  return new FetchKeySource(request);
}

/** Authenticates a Web `Request`: the principal, or the failure to answer with. Sync whenever the verifier is. */
export function authenticateRequest<P>(
  guard: Guard<P>,
  request: Request,
): AuthResult<P> | Promise<AuthResult<P>> {
  return guard.authenticate(new FetchKeySource(request));
}

/** A keyward failure (from `guard.respond(failure)`) as a `Response`, status, headers and body as they are. */
export function failureResponse(response: FailureResponse): Response {
  return new Response(response.body, { status: response.status, headers: response.headers });
}

function withHeaders(response: Response, headers: Readonly<Record<string, string>>): Response {
  let out = response;
  try {
    for (const name in headers) out.headers.set(name, headers[name]!);
  } catch {
    // Responses from fetch() have immutable headers: copy once, then set.
    out = new Response(response.body, response);
    for (const name in headers) out.headers.set(name, headers[name]!);
  }
  return out;
}

/**
 * Adds what authentication asks for to the handler's response: rate-limit and
 * `Deprecation` headers, and `Cache-Control` unless the handler set its own.
 */
function finish(
  response: Response,
  headers: Readonly<Record<string, string>> | undefined,
  cacheControl: string | undefined,
): Response {
  const out = headers ? withHeaders(response, headers) : response;
  if (cacheControl === undefined || out.headers.has('cache-control')) return out;
  return withHeaders(out, { 'cache-control': cacheControl });
}

function successHeaders(result: AuthResult<unknown>): Readonly<Record<string, string>> | undefined {
  if (!result.ok) return undefined;
  const extra = (result as { headers?: Readonly<Record<string, string>> }).headers;
  const deprecation = result.scheme?.deprecation;
  if (deprecation === undefined) return extra;
  return extra ? { ...extra, deprecation } : { deprecation };
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
 */
export function withApiKey<P, A extends unknown[] = []>(
  guard: Guard<P> | GuardOptions<P>,
  handler: AuthenticatedHandler<P, A>,
): ((request: Request, ...rest: A) => Response | Promise<Response>) & { [GUARD]: Guard<P> } {
  const resolved: Guard<P> = isGuard<P>(guard) ? guard : createGuard(guard);
  const unavailable = () => failureResponse(resolved.respond(new AuthFailure('unavailable', 5)));
  const run = (result: AuthResult<P>, request: Request, rest: A): Response | Promise<Response> => {
    if (!result.ok) return failureResponse(resolved.respond(result.failure));
    const response = handler(request, result.principal as P, ...rest);
    const headers = successHeaders(result);
    const cacheControl = result.cacheControl;
    if (headers === undefined && cacheControl === undefined) return response;
    if (!(response instanceof Promise)) return finish(response, headers, cacheControl);
    return response.then((r) => finish(r, headers, cacheControl));
  };
  const keywardFetch = (request: Request, ...rest: A): Response | Promise<Response> => {
    let result: AuthResult<P> | Promise<AuthResult<P>>;
    try {
      result = resolved.authenticate(new FetchKeySource(request));
    } catch {
      // Fail closed with JSON even where the guard cannot report (no `process` on workers).
      return unavailable();
    }
    if (result instanceof Promise) return result.then((r) => run(r, request, rest), unavailable);
    return run(result, request, rest);
  };
  return Object.assign(keywardFetch, { [GUARD]: resolved });
}
