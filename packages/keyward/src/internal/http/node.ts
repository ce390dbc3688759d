import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { FailureResponse } from '../../core/failures.js';
import type { AuthResult } from '../../core/guard.js';
import { type KeySource, pathOf, queryOf } from '../../core/request.js';
import { nodeHeader } from './node-headers.js';

/** The parts of a Node request keyward reads (also what Express and Fastify requests carry). */
export type NodeRequestLike = Pick<IncomingMessage, 'headers' | 'url'> & {
  /** The request method, for keys restricted to some routes. */
  readonly method?: string | undefined;
  /** Express: the URL before mounted routers cut their part off (`req.url` inside one). */
  readonly originalUrl?: string | undefined;
  /** Read for the headers Node de-duplicates (`Authorization`, ...), to see repeated lines. */
  readonly rawHeaders?: readonly string[];
  readonly socket?: { readonly remoteAddress?: string | undefined } | null;
};

// Reads Node's own header object: no copy, and repeated lines arrive joined with ", ",
// which the core counts as a duplicate; the few headers Node de-duplicates come from
// rawHeaders instead (see nodeHeader). A class: one small object, no closures.
export class NodeKeySource implements KeySource {
  readonly #req: NodeRequestLike;
  constructor(req: NodeRequestLike) {
    this.#req = req;
  }
  header(lowerName: string): string | readonly string[] | undefined {
    return nodeHeader(this.#req.headers, this.#req.rawHeaders, lowerName);
  }
  query(): string {
    return queryOf(this.#req.url ?? '');
  }
  peer(): string | undefined {
    return this.#req.socket?.remoteAddress;
  }
  method(): string | undefined {
    return this.#req.method;
  }
  path(): string | undefined {
    const url = this.#req.originalUrl ?? this.#req.url;
    return url === undefined ? undefined : pathOf(url);
  }
}

/**
 * A {@link KeySource} over a Node `IncomingMessage` (`req.headers`, `req.url`, the socket's
 * address, `req.method`; Express's `req.originalUrl` when there is one).
 */
export function nodeKeySource(req: NodeRequestLike): KeySource {
  return new NodeKeySource(req);
}

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

/** The encoded body of a failure, for responses written another way (Fastify, an upgrade refusal). */
export function failureBody(response: FailureResponse): Buffer {
  return prepare(response).body;
}

/** Where authentication's response headers go: a Node response, a Fastify reply. */
interface HeaderTarget {
  hasHeader(name: string): boolean;
  setHeader?(name: string, value: string): unknown;
  header?(name: string, value: string): unknown;
}

/**
 * Sets what a successful authentication asks for on a response, before the handler writes
 * it: the result's headers (rate-limit fields, `Deprecation`) and `Cache-Control` unless the
 * response already has one; a `Cache-Control` the handler sets later replaces this one.
 */
export function setAuthHeaders(res: ServerResponse, result: AuthResult<unknown>): void {
  if (!result.ok || res.headersSent) return;
  applyAuthHeaders(res, result);
}

/** {@link setAuthHeaders} for any response with `hasHeader` and `setHeader` or `header`. */
export function applyAuthHeaders(target: HeaderTarget, result: AuthResult<unknown>): void {
  if (!result.ok) return;
  const set = (name: string, value: string) =>
    target.setHeader ? target.setHeader(name, value) : target.header!(name, value);
  const cacheControl = result.cacheControl;
  if (cacheControl !== undefined && !target.hasHeader('cache-control')) set('cache-control', cacheControl);
  const headers = result.headers;
  if (headers !== undefined) for (const name in headers) set(name, headers[name]!);
}
