import type { FailureResponse } from '../../core/failures.js';
import type { AuthResult } from '../../core/guard.js';
import { type KeySource, pathOf, queryOf } from '../../core/request.js';

// The Request the app handles. Repeated lines come joined with ", " (Cookie lines with
// "; "), which the core counts as a duplicate.
export class FetchKeySource implements KeySource {
  readonly #request: Request;
  readonly #peer: (() => string | undefined) | undefined;
  constructor(request: Request, peer?: () => string | undefined) {
    this.#request = request;
    this.#peer = peer;
  }
  header(lowerName: string): string | undefined {
    return this.#request.headers.get(lowerName) ?? undefined;
  }
  query(): string {
    return queryOf(this.#request.url);
  }
  peer(): string | undefined {
    return this.#peer?.();
  }
  method(): string {
    return this.#request.method;
  }
  path(): string {
    // `Request.url` is absolute and already normalised by the URL parser.
    const url = this.#request.url;
    const scheme = url.indexOf('://');
    const start = url.indexOf('/', scheme === -1 ? 0 : scheme + 3);
    return start === -1 ? '/' : pathOf(url.slice(start));
  }
}

/** A {@link KeySource} over a Web `Request` (no copy of its headers), with the peer address if the runtime knows it. */
export function fetchKeySource(request: Request, peer?: () => string | undefined): KeySource {
  return new FetchKeySource(request, peer);
}

/** A keyward failure (from `guard.respond(failure)`) as a `Response`, status, headers and body as they are. */
export function failureResponse(response: FailureResponse): Response {
  return new Response(response.body, { status: response.status, headers: response.headers });
}

function setAll(response: Response, set: (headers: Headers) => void): Response {
  try {
    set(response.headers);
    return response;
  } catch {
    // Responses from fetch() have immutable headers: copy once, then set.
    const copy = new Response(response.body, response);
    set(copy.headers);
    return copy;
  }
}

/**
 * A handler's response with what a successful authentication asks for: the result's
 * headers (rate-limit fields, `Deprecation`) and `Cache-Control` unless the handler set its
 * own. Anything that is not a `Response` (a WebSocket upgrade answered by the runtime) is
 * returned as it is.
 */
export function withAuthHeaders<R>(response: R, result: AuthResult<unknown>): R {
  if (!result.ok || !(response instanceof Response)) return response;
  const headers = result.headers;
  const cacheControl = result.cacheControl;
  const needsCache = cacheControl !== undefined && !response.headers.has('cache-control');
  if (headers === undefined && !needsCache) return response;
  return setAll(response, (h) => {
    if (headers !== undefined) for (const name in headers) h.set(name, headers[name]!);
    if (needsCache) h.set('cache-control', cacheControl);
  }) as R;
}
