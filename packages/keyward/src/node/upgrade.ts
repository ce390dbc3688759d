import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { type FailureResponse, UNAVAILABLE } from '../core/failures.js';
import type { AuthResult, Guard, GuardOptions } from '../core/guard.js';
import { resolveGuard } from '../internal/http/guard.js';
import { failureBody } from '../internal/http/node.js';
import { authenticateRequest } from './middleware.js';

/** Called for an upgrade request keyward let through; typically `wss.handleUpgrade(...)`. */
export type UpgradeHandler<P> = (
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  principal: P | undefined,
) => void;

// Headers the refusal sets itself; a responder's own values for them are dropped.
const FRAMING = new Set(['connection', 'content-length', 'transfer-encoding', 'upgrade']);
const UNSAFE = /[\r\n\0]/;

/**
 * Answers an upgrade request with a plain HTTP response (status, headers, JSON body, e.g.
 * the 401 with `WWW-Authenticate: APIKey`) on the raw socket, then closes it. Nothing is
 * upgraded.
 */
export function refuseUpgrade(socket: Duplex, response: FailureResponse): void {
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  const body = failureBody(response);
  let head = `HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? ''}\r\n`;
  for (const [name, value] of Object.entries(response.headers)) {
    if (FRAMING.has(name.toLowerCase()) || UNSAFE.test(name) || UNSAFE.test(value)) continue;
    head += `${name}: ${value}\r\n`;
  }
  head += `connection: close\r\ncontent-length: ${body.length}\r\n\r\n`;
  socket.once('finish', () => socket.destroy());
  socket.end(Buffer.concat([Buffer.from(head, 'latin1'), body]));
}

/**
 * Guards WebSocket upgrades on a node:http server, before anything is upgraded:
 *
 * ```ts
 * server.on('upgrade', guardUpgrade(guard, (req, socket, head, principal) => {
 *   wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
 * }));
 * ```
 *
 * A missing or wrong key is refused with the guard's response (401 and the challenge) and
 * the socket is closed. In the connection handler `principalOf(req)` returns the principal.
 */
export function guardUpgrade<P>(
  guard: Guard<P> | GuardOptions<P>,
  onUpgrade: UpgradeHandler<P>,
): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const resolved = resolveGuard(guard);
  return function keywardUpgrade(req, socket, head) {
    // Node removes its own error listener from upgrade sockets: without one, a client
    // reset while the key is verified would crash the process.
    const onError = () => socket.destroy();
    socket.on('error', onError);
    const settle = (result: AuthResult<P>) => {
      if (socket.destroyed) return;
      if (!result.ok) {
        refuseUpgrade(socket, resolved.respond(result.failure));
        return;
      }
      socket.removeListener('error', onError);
      onUpgrade(req, socket, head, result.principal);
    };
    const result = authenticateRequest(resolved, req);
    if (result instanceof Promise) {
      result.then(settle, () => refuseUpgrade(socket, resolved.respond(UNAVAILABLE)));
      return;
    }
    settle(result);
  };
}
