import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthResult } from 'keyward';
import type { LineWriter } from '../log/lines.js';
import { redactUrl } from '../log/redact.js';

/** Where a route records what the guard decided for its request, for the access log. */
export const AUTH_RESULT: unique symbol = Symbol('keyward.serve.auth');
/** The principal a guard accepted for the request (kept when a later guard refused it a scope). */
export const PRINCIPAL: unique symbol = Symbol('keyward.serve.principal');
/** The route pattern that answered (`/secure-data`), recorded the same way. */
export const ROUTE: unique symbol = Symbol('keyward.serve.route');

type Noted = IncomingMessage & {
  [AUTH_RESULT]?: AuthResult<unknown>;
  [PRINCIPAL]?: unknown;
  [ROUTE]?: string;
  [STARTED]?: number;
  [REQUEST_ID]?: string;
};
const STARTED: unique symbol = Symbol('keyward.serve.started');
const REQUEST_ID: unique symbol = Symbol('keyward.serve.requestId');

/** pino's numbers, so that log tooling that reads pino reads these lines too. */
export const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, silent: Infinity } as const;
export type LogLevel = keyof typeof LEVELS;

export interface AccessLogOptions {
  readonly writer: LineWriter;
  readonly level: LogLevel;
  /** The client's address (the peer, or what trusted proxies say). */
  readonly addressOf: (req: IncomingMessage) => string | undefined;
  /** Whether the request came through a trusted proxy, whose `X-Request-Id` is kept. */
  readonly fromTrustedProxy: (req: IncomingMessage) => boolean;
}

// An id a proxy may hand on: short, printable, no quotes or backslashes to escape.
const REQUEST_ID_SHAPE = /^[\w.:@/+=-]{1,128}$/;

/** What a principal is called in the log: its id and owner, never the key. */
function identify(principal: unknown): { id?: unknown; owner?: unknown } {
  return typeof principal === 'object' && principal !== null ? principal : {};
}

const json = (value: unknown): string => JSON.stringify(value) ?? 'null';
const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length <= 256 ? value : undefined;

/**
 * Wraps a node:http request listener so that every response ends with one JSON line on
 * the writer: request id, method, route, path (keys redacted), status, duration, client
 * address, key id and owner (never the key), the failure code; plus a `security` line when
 * a refused key was revoked, expired or disabled, an address was blocked for failed
 * attempts, or the key store was unavailable. Each response carries the request id as
 * `X-Request-Id`: a trusted proxy's own, or a new one.
 */
export function accessLogged(
  listener: (req: IncomingMessage, res: ServerResponse) => void,
  options: AccessLogOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const { writer, addressOf, fromTrustedProxy } = options;
  const threshold = LEVELS[options.level];
  // Process-unique ids without a random draw per request: a random prefix and a counter.
  const prefix = randomBytes(6).toString('base64url');
  let counter = 0;

  function finished(this: ServerResponse): void {
    const req = this.req as Noted;
    const status = this.statusCode;
    const result = req[AUTH_RESULT];
    const keyIn = result?.ok ? result.scheme?.in : undefined;
    // A key in the URL is worth a warning: access logs and browser history keep URLs.
    const level = status >= 500 ? LEVELS.error : keyIn === 'query' ? LEVELS.warn : LEVELS.info;
    const failure = result && !result.ok ? result.failure : undefined;
    const time = Date.now();
    const address = addressOf(req);
    if (level >= threshold) {
      const who = identify(req[PRINCIPAL] ?? (result?.ok ? result.principal : undefined));
      // A refused key is named by its id when the store knew it (revoked, expired, disabled).
      const keyId = text(who.id) ?? failure?.keyId;
      const owner = text(who.owner);
      const path = pathOf(req.url);
      const route = req[ROUTE] ?? (status === 404 ? undefined : (PUBLIC_ROUTES.get(path) ?? docsRoute(path)));
      writer.write(
        // Only the path, the address and text from the store need escaping: the request id,
        // method (Node's parser allows a token only) and route are plain by construction.
        `{"level":${level},"time":${time},"msg":"request","requestId":"${req[REQUEST_ID]}","method":"${req.method}","route":${route === undefined ? 'null' : `"${route}"`},"path":${json(path)},"status":${status},"durationMs":${Math.round((performance.now() - req[STARTED]!) * 1000) / 1000},"address":${json(address ?? null)}${keyId === undefined ? '' : `,"keyId":${json(keyId)}`}${owner === undefined ? '' : `,"owner":${json(owner)}`}${keyIn === undefined ? '' : `,"keyIn":"${keyIn}"`}${failure ? `,"failure":${json(failure.code)}${failure.reason ? `,"reason":${json(failure.reason)}` : ''}` : ''}}\n`,
      );
    }
    if (failure !== undefined && LEVELS.warn >= threshold) {
      const event = securityEvent(failure.code, failure.reason);
      if (event !== undefined) {
        writer.write(
          `{"level":${LEVELS.warn},"time":${time},"msg":"security","event":"${event}","requestId":"${req[REQUEST_ID]}","address":${json(address ?? null)}${failure.reason ? `,"reason":${json(failure.reason)}` : ''}${failure.keyId === undefined ? '' : `,"keyId":${json(failure.keyId)}`}}\n`,
        );
      }
    }
  }

  return function keywardAccessLog(req, res) {
    const noted = req as Noted;
    noted[STARTED] = performance.now();
    const given = req.headers['x-request-id'];
    const id =
      typeof given === 'string' && REQUEST_ID_SHAPE.test(given) && fromTrustedProxy(req)
        ? given
        : `${prefix}-${(++counter).toString(36)}`;
    noted[REQUEST_ID] = id;
    res.setHeader('x-request-id', id);
    res.on('finish', finished);
    listener(req, res);
  };
}

/** The demo app's public routes, by path: a route pattern in the log for every answered request. */
const PUBLIC_ROUTES: ReadonlyMap<string, string> = new Map(
  ['/health', '/ready', '/openapi.json', '/docs'].map((route) => [route, route]),
);
const docsRoute = (path: string) => (path.startsWith('/docs/') ? '/docs/*' : undefined);

/** The path without its query (a key may travel there), with key-shaped segments redacted. */
function pathOf(url: string | undefined): string {
  const target = url ?? '/';
  const query = target.indexOf('?');
  return redactUrl(query === -1 ? target : target.slice(0, query));
}

/** The security event a refusal stands for, if it is one an operator watches. */
function securityEvent(code: string, reason: string | undefined): string | undefined {
  if (code === 'unavailable') return 'store_unavailable';
  if (code === 'rate_limited' && reason === 'address') return 'address_blocked';
  if (reason === 'revoked' || reason === 'expired' || reason === 'disabled') return 'key_refused';
  return undefined;
}
