import type { Context } from 'hono';
import { type KeySource, queryOf } from '../core/request.js';
import { fetchKeySource } from '../internal/http/fetch.js';
import { nodeHeader } from '../internal/http/node-headers.js';

interface NodeIncoming {
  headers: Record<string, string | string[] | undefined>;
  rawHeaders?: string[];
  url: string;
  socket?: { remoteAddress?: string };
}

// Reading Node's own header object (under @hono/node-server) avoids building a Fetch
// `Headers` for every request. A class, not a literal with closures: one small object.
class IncomingSource implements KeySource {
  constructor(private readonly incoming: NodeIncoming) {}
  header(name: string) {
    return nodeHeader(this.incoming.headers, this.incoming.rawHeaders, name);
  }
  query() {
    return queryOf(this.incoming.url);
  }
  peer() {
    return this.incoming.socket?.remoteAddress;
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
    return fetchKeySource(raw);
  }
  if (unchanged(raw, incoming)) return new IncomingSource(incoming);
  // The peer is still the connection's.
  return fetchKeySource(raw, () => incoming.socket?.remoteAddress);
}
