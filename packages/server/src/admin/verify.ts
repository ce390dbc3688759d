import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { KeyManager } from '@keyward/keys';
import type { KeySource } from 'keyward';
import { nodeKeySource } from 'keyward/node';
import type { AdminAuth } from './auth.js';
import { MAX_BODY_BYTES, objectOf } from './body.js';
import { AdminError, type Answer, problemParts, problemPartsFor } from './problem.js';

const VERIFY_FIELDS = new Set(['key', 'scopes']);
const JSON_HEADERS = Object.freeze({ 'content-type': 'application/json', 'cache-control': 'no-store' });

/**
 * `POST /v1/keys/verify`'s answer once the caller is authenticated: reads and checks the
 * body (`type` and `length` as a Fetch `Headers` reads them; `read` called only once the
 * head is acceptable), checks the key, counts it like a request (a use taken, use count and
 * analytics recorded) and answers. Throws an {@link AdminError} for a bad body. The Hono
 * route and the admin listener's node:http route both answer with it.
 */
export async function verifyAnswer(
  manager: KeyManager,
  type: string | undefined,
  length: string | undefined,
  read: () => Promise<ArrayBuffer | Uint8Array>,
): Promise<Answer> {
  const body = await objectOf(type, length, read, VERIFY_FIELDS);
  if (typeof body.key !== 'string') throw new AdminError('invalid_input', 'key must be a string');
  const scopes = body.scopes;
  if (scopes !== undefined && (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string'))) {
    throw new AdminError('invalid_input', 'scopes must be an array of strings');
  }
  const checked = await manager.check(body.key, { scopes: scopes as string[] | undefined });
  const counted =
    checked.outcome === 'not_found' || checked.outcome === 'malformed' ? 'invalid' : checked.outcome;
  manager.analytics.record(counted, checked.keyId, checked.principal?.owner ?? undefined);
  if (checked.outcome === 'valid' && checked.principal) {
    const p = checked.principal;
    // credits: what is left after this use (the key's or its owner's); null when unlimited.
    return {
      status: 200,
      headers: JSON_HEADERS,
      body: JSON.stringify({
        valid: true,
        keyId: p.id,
        owner: p.owner,
        scopes: p.scopes,
        credits: checked.credits ?? null,
      }),
    };
  }
  return { status: 200, headers: JSON_HEADERS, body: JSON.stringify({ valid: false, code: counted }) };
}

/**
 * The headers every admin answer carries, set through `has` and `set` (a Fetch `Headers`
 * or a plain object): no sniffing, no framing, no referrer unless the answer set its own.
 */
export function secureHeaders(
  has: (name: string) => boolean,
  set: (name: string, value: string) => void,
): void {
  set('x-content-type-options', 'nosniff');
  if (!has('referrer-policy')) set('referrer-policy', 'no-referrer');
  set('x-frame-options', 'DENY');
}

/** A node:http route that answers a request (true) or leaves it to the next listener (false). */
export type NodeRoute = (req: IncomingMessage, res: ServerResponse) => boolean;

const PATH = '/v1/keys/verify';

/**
 * `POST /v1/keys/verify` straight on node:http, without the Fetch layer (a web stream,
 * `Request` and `AbortSignal` per request cost most of the route's time): the same
 * answers as the Hono route, through the same guard ({@link AdminAuth.checkKey}), body
 * limit and {@link verifyAnswer}. Only requests with exactly that path take it; a request
 * with a session cookie and no key header goes to the Hono app (the dashboard's path).
 */
export function nodeVerifyRoute(auth: AdminAuth, manager: KeyManager): NodeRoute {
  return (req, res) => {
    if (req.method !== 'POST') return false;
    const url = req.url;
    if (url !== PATH && !((url?.startsWith(PATH) === true && url.charCodeAt(PATH.length) === 63) /* ? */))
      return false;
    const headers = req.headers;
    if (
      headers.authorization === undefined &&
      headers['x-api-key'] === undefined &&
      headers.cookie !== undefined
    )
      return false;
    answer(auth, manager, req)
      .then(
        (a) => write(res, a),
        (error: unknown) => {
          // A client gone mid-body is no error of the server's: nobody to answer.
          if (error === GONE || res.destroyed) return;
          write(res, problemPartsFor(error));
        },
      )
      .catch(() => {
        // Writing failed (the socket broke): never an unhandled rejection in the server.
        if (!res.headersSent) res.destroy();
      });
    return true;
  };
}

/** The request's headers as the Hono route reads them: Fetch `Headers`, repeated lines joined. */
class FetchLikeSource implements KeySource {
  readonly #node: KeySource;
  readonly #req: IncomingMessage;
  constructor(req: IncomingMessage) {
    this.#req = req;
    this.#node = nodeKeySource(req);
  }
  header(lowerName: string): string | undefined {
    const value = this.#node.header(lowerName);
    return typeof value === 'string' || value === undefined ? value : value.join(', ');
  }
  query(): string {
    return '';
  }
  peer(): string | undefined {
    return this.#req.socket.remoteAddress;
  }
}

async function answer(auth: AdminAuth, manager: KeyManager, req: IncomingMessage): Promise<Answer> {
  const source = new FetchLikeSource(req);
  const length = source.header('content-length');
  // The admin app's body limit, before authentication as there: a declared excess unread,
  // a streamed one as it comes.
  const declared = length === undefined ? undefined : Number.parseInt(length, 10);
  if (declared !== undefined && declared > MAX_BODY_BYTES) return problemParts('payload_too_large');
  // The key before the body: a caller without one is refused before anything it sends is
  // read or held (a trickled body would otherwise hold memory for the request timeout).
  const caller = await auth.checkKey(source, 'keyward:keys:read');
  if ('status' in caller) return caller;
  const raw = await readBody(req, declared);
  if (raw === undefined) return problemParts('payload_too_large');
  return verifyAnswer(manager, source.header('content-type'), length, async () => raw);
}

/** A request whose client left before its body ended. */
const GONE = Symbol('client gone');

/**
 * The body, or `undefined` once it passes {@link MAX_BODY_BYTES} (Node then discards the
 * rest). Read into one buffer, sized from the declared length and grown by doubling, so a
 * body sent a byte at a time costs its bytes, not a Buffer object per byte.
 */
function readBody(req: IncomingMessage, declared: number | undefined): Promise<Uint8Array | undefined> {
  return new Promise((resolve, reject) => {
    // The client may have left while its key was checked: nothing more will come.
    if (req.destroyed) {
      reject(GONE);
      return;
    }
    let buffer = Buffer.allocUnsafe(
      declared !== undefined && declared >= 0 ? Math.min(declared, MAX_BODY_BYTES) : 1024,
    );
    let size = 0;
    const onData = (chunk: Buffer) => {
      if (size + chunk.length > MAX_BODY_BYTES) {
        req.off('data', onData);
        req.off('end', onEnd);
        resolve(undefined);
        return;
      }
      if (size + chunk.length > buffer.length) {
        const grown = Buffer.allocUnsafe(
          Math.min(MAX_BODY_BYTES, Math.max(buffer.length * 2, size + chunk.length)),
        );
        buffer.copy(grown, 0, 0, size);
        buffer = grown;
      }
      chunk.copy(buffer, size);
      size += chunk.length;
    };
    const onEnd = () => resolve(buffer.subarray(0, size));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', () => reject(GONE));
    // Closed before its end (the client left): settled, so nothing waits on it.
    req.on('close', () => reject(GONE));
  });
}

// Answers share header objects (verify's JSON headers, the guard's refusals): each gets
// the security headers once, not once per request.
const secured = new WeakMap<object, OutgoingHttpHeaders>();

function securedHeaders(headers: Readonly<Record<string, string>>): OutgoingHttpHeaders {
  let out = secured.get(headers);
  if (!out) {
    const copy: OutgoingHttpHeaders = { ...headers };
    const names = Object.keys(copy).map((name) => name.toLowerCase());
    secureHeaders(
      (name) => names.includes(name),
      (name, value) => {
        copy[name] = value;
      },
    );
    out = copy;
    secured.set(headers, out);
  }
  return out;
}

function write(res: ServerResponse, answer: Answer): void {
  res.writeHead(answer.status, {
    ...securedHeaders(answer.headers),
    'content-length': Buffer.byteLength(answer.body, 'utf8'),
  });
  // A string body goes out in one write with the head (a Buffer takes a writev of two).
  res.end(answer.body, 'utf8');
}
