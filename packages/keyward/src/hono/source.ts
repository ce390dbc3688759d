import type { Context } from 'hono';
import { type KeySource, pathOf, queryOf } from '../core/request.js';
import { FetchKeySource } from '../internal/http/fetch.js';
import { nodeHeader } from '../internal/http/node-headers.js';
import { operationId } from '../openapi/document.js';
import { toOpenApiPath } from './routes.js';

interface NodeIncoming {
  headers: Record<string, string | string[] | undefined>;
  rawHeaders?: string[];
  url: string;
  method?: string;
  socket?: { remoteAddress?: string };
}

/**
 * The operation id the app's OpenAPI document gives the route running now (HEAD as its
 * GET), for keys restricted to operation ids: known where the guard runs on the route
 * (`protect`, a route's own `apiKeyAuth`); in `app.use` middleware it names no operation.
 */
function operationOf(c: Context): string | undefined {
  const route = c.req.routePath;
  if (route === undefined || route.includes('*')) return undefined;
  const method = c.req.method === 'HEAD' ? 'get' : c.req.method.toLowerCase();
  return operationId(method, toOpenApiPath(route));
}

// Reading Node's own header object (under @hono/node-server) avoids building a Fetch
// `Headers` for every request. A class, not a literal with closures: one small object.
class IncomingSource implements KeySource {
  constructor(
    private readonly incoming: NodeIncoming,
    private readonly c: Context,
  ) {}
  header(name: string) {
    return nodeHeader(this.incoming.headers, this.incoming.rawHeaders, name);
  }
  query() {
    return queryOf(this.incoming.url);
  }
  peer() {
    return this.incoming.socket?.remoteAddress;
  }
  method() {
    return this.incoming.method;
  }
  path() {
    return pathOf(this.incoming.url);
  }
  operation() {
    return operationOf(this.c);
  }
}

/** The Request the app handles, and the route it reached. */
class RequestSource extends FetchKeySource {
  readonly #c: Context;
  constructor(c: Context, peer?: () => string | undefined) {
    super(c.req.raw, peer);
    this.#c = c;
  }
  operation() {
    return operationOf(this.#c);
  }
}

type Keyed = Record<symbol, unknown>;

/**
 * @hono/node-server hands Hono a light `Request` that keeps the Node request under a
 * private symbol and builds its `Headers` from it on first use, caching them under a
 * second one. Both symbols are learnt once, by value, from the first such request: no
 * name or version of @hono/node-server is assumed. `null`: they could not be learnt.
 */
let fromIncoming: symbol | null | undefined;
let cachedHeaders: symbol | undefined;
let attempts = 0;

function learn(raw: Request, incoming: NodeIncoming): boolean {
  // A plain Request cannot be the light one; give up after a few other kinds.
  if (Object.getPrototypeOf(raw) === Request.prototype || ++attempts > 16) {
    if (attempts > 16) fromIncoming = null;
    return false;
  }
  const keyed = raw as unknown as Keyed;
  const own = Object.getOwnPropertySymbols(raw);
  const found = own.find((s) => keyed[s] === incoming);
  if (found === undefined) return false;
  let headers = own.find((s) => keyed[s] instanceof Headers);
  if (headers === undefined) {
    const built = raw.headers;
    headers = Object.getOwnPropertySymbols(raw).find((s) => keyed[s] === built);
    // Cached out of sight: changes to them could not be seen, so never read the Node request.
    if (headers === undefined && raw.headers === built) {
      fromIncoming = null;
      return false;
    }
  }
  fromIncoming = found;
  cachedHeaders = headers;
  return true;
}

/**
 * Whether `raw` is the light Request @hono/node-server built from `incoming` and its
 * headers were never handed to the app: then the Node request says exactly what the app
 * would read, and is cheaper to read. A request the app rebuilt or forwarded, or whose
 * `Headers` middleware may have changed, is read as the app sees it.
 */
function unchanged(raw: Request, incoming: NodeIncoming): boolean {
  if (fromIncoming === undefined && !learn(raw, incoming)) return false;
  if (!fromIncoming) return false;
  const keyed = raw as unknown as Keyed;
  return (
    keyed[fromIncoming] === incoming && (cachedHeaders === undefined || keyed[cachedHeaders] === undefined)
  );
}

/** Where the guard reads the key: the Request the app handles (`c.req.raw`). */
export function sourceOf(c: Context): KeySource {
  const raw = c.req.raw;
  const incoming = (c.env as { incoming?: NodeIncoming } | undefined)?.incoming;
  if (!incoming || typeof incoming.headers !== 'object' || typeof incoming.url !== 'string') {
    return new RequestSource(c);
  }
  if (unchanged(raw, incoming)) return new IncomingSource(incoming, c);
  // The peer is still the connection's.
  return new RequestSource(c, () => incoming.socket?.remoteAddress);
}
