import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { FailureResponse } from '../core/failures.js';
import type { AuthResult } from '../core/guard.js';

interface Prepared {
  readonly headers: OutgoingHttpHeaders;
  readonly body: Buffer;
}

// Guards answer static failures with the same FailureResponse object every time, so
// the encoded body and header set are built once per response, not once per request.
const prepared = new WeakMap<FailureResponse, Prepared>();

function prepare(response: FailureResponse): Prepared {
  let p = prepared.get(response);
  if (!p) {
    const body = Buffer.from(response.body, 'utf8');
    p = { headers: { ...response.headers, 'content-length': body.length }, body };
    prepared.set(response, p);
  }
  return p;
}

/**
 * Writes a keyward failure (from `guard.respond(failure)`) to a Node response as it is:
 * status, headers, body. Headers set earlier with `res.setHeader` (CORS, request ids)
 * are kept. Nothing goes through a framework's error handler.
 */
export function writeFailure(res: ServerResponse, response: FailureResponse): void {
  if (res.headersSent) {
    // Too late for a clean answer: never let the request through, cut it.
    res.destroy();
    return;
  }
  const p = prepare(response);
  res.writeHead(response.status, p.headers);
  res.end(p.body);
}

/** The encoded body of a failure, shared with the WebSocket refusal. */
export function failureBody(response: FailureResponse): Buffer {
  return prepare(response).body;
}

/** The response headers a successful authentication asks for: rate-limit fields, RFC 9745 `Deprecation`. */
export function successHeaders(result: AuthResult<unknown>): Readonly<Record<string, string>> | undefined {
  if (!result.ok) return undefined;
  // `headers` comes from rate limits; read defensively so any guard result shape works.
  const extra = (result as { headers?: Readonly<Record<string, string>> }).headers;
  const deprecation = result.scheme?.deprecation;
  if (deprecation === undefined) return extra;
  return extra ? { ...extra, deprecation } : { deprecation };
}

/**
 * Sets the headers a successful authentication asks for (rate-limit fields, `Deprecation`
 * for a deprecated scheme, `Cache-Control: no-store` for an authenticated request) on a
 * Node response, before the handler writes it. A `Cache-Control` already set is kept, and
 * one the handler sets later replaces this one.
 */
export function setAuthHeaders(res: ServerResponse, result: AuthResult<unknown>): void {
  if (!result.ok || res.headersSent) return;
  const cacheControl = result.cacheControl;
  if (cacheControl !== undefined && !res.hasHeader('cache-control'))
    res.setHeader('cache-control', cacheControl);
  const headers = successHeaders(result);
  if (headers !== undefined) for (const name in headers) res.setHeader(name, headers[name]!);
}
