import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { Hono } from 'hono';

export interface RunningServer {
  readonly port: number;
  readonly url: string;
  /** Closes the listener and every connection at once. */
  close(): Promise<void>;
  /**
   * Stops accepting connections, closes idle ones, lets the requests in flight finish
   * (closing each connection as it falls idle) and, after `timeoutMs`, closes what is
   * left. Resolves with how many connections had to be cut (0: all drained).
   */
  shutdown(timeoutMs: number): Promise<number>;
}

/** How long a client may take, and how many may be connected: what keeps slow clients from holding the server. */
export interface ConnectionLimits {
  /** Time to send the whole request head; then 408 and the connection is closed. */
  headersTimeoutMs: number;
  /** Time to send the whole request, body included. At least `headersTimeoutMs`. */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection is kept between requests. */
  keepAliveTimeoutMs: number;
  /** Connections beyond this are closed at once (0: no cap). */
  maxConnections: number;
}

/**
 * `keyward serve`'s defaults: far below Node's (60 s for the head, 5 min for a request,
 * no connection cap), so a client trickling bytes holds a connection for seconds, not minutes.
 */
export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = Object.freeze({
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 10_000,
});

/** A node:http request listener; `listen` can wrap the app's in one of these (the access log). */
export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Serves a Hono app on node:http; resolves once listening, rejects when it cannot listen.
 * `wrap` may wrap the app's request listener (keyward serve's access log does); `first`
 * answers the requests it takes (returning true) before the app sees them, inside `wrap`.
 */
export function listen(
  app: Hono,
  port: number,
  hostname: string,
  limits: ConnectionLimits = DEFAULT_CONNECTION_LIMITS,
  wrap?: (listener: RequestListener) => RequestListener,
  first?: (req: IncomingMessage, res: ServerResponse) => boolean,
): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const hono = getRequestListener(app.fetch) as RequestListener;
    const listener: RequestListener = first
      ? (req, res) => {
          if (!first(req, res)) hono(req, res);
        }
      : hono;
    const server = createServer(
      {
        headersTimeout: limits.headersTimeoutMs,
        requestTimeout: limits.requestTimeoutMs,
        // Node looks for timed-out requests on this interval (30 s by default, which
        // would let a slow client overstay a 10 s timeout threefold).
        connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
        keepAliveTimeout: limits.keepAliveTimeoutMs,
      },
      wrap ? wrap(listener) : listener,
    );
    if (limits.maxConnections > 0) server.maxConnections = limits.maxConnections;
    server.once('error', reject);
    server.listen(port, hostname, () => {
      const info = server.address() as AddressInfo;
      const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
      resolve({
        port: info.port,
        url: `http://${host}:${info.port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
        shutdown: (timeoutMs) => drain(server, timeoutMs),
      });
    });
  });
}

/** How often a draining server closes the connections whose requests have finished. */
const DRAIN_POLL_MS = 25;

function drain(server: Server, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    let cut = 0;
    const poll = setInterval(() => server.closeIdleConnections(), DRAIN_POLL_MS);
    const deadline = setTimeout(() => {
      server.getConnections((_error, count) => {
        cut = count;
        server.closeAllConnections();
      });
    }, timeoutMs);
    // 'close' comes once the last connection has ended.
    server.close(() => {
      clearInterval(poll);
      clearTimeout(deadline);
      resolve(cut);
    });
    server.closeIdleConnections();
  });
}
