import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { upgradeRefusals } from '../internal/upgrade-refusals.js';
import { refuseUpgrade } from './upgrade.js';

type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

// @hono/node-ws refuses an upgrade with `socket.end('HTTP/1.1 401 ...')` and no headers or
// body. For a request keyward refused, that one call writes keyward's full answer instead.
function interceptRefusal(req: IncomingMessage, socket: Duplex): void {
  const end = socket.end;
  socket.end = function keywardEnd(this: Duplex, ...args: unknown[]) {
    socket.end = end;
    const refusal = upgradeRefusals.get(req);
    if (refusal === undefined) return (end as (...a: unknown[]) => Duplex).apply(socket, args);
    upgradeRefusals.delete(req);
    refuseUpgrade(socket, refusal);
    return socket;
  } as Duplex['end'];
}

/**
 * For Hono with @hono/node-ws: `injectWebSocket(keywardUpgrades(server))`. Upgrades that
 * `apiKeyAuth` refuses then get its full response (401, `WWW-Authenticate: APIKey`, the
 * JSON body) instead of @hono/node-ws's bare status line. Everything else is unchanged.
 */
export function keywardUpgrades<S extends object>(server: S): S {
  // Any server that emits Node's `upgrade` event: node:http's, or what @hono/node-server's
  // serve() returns (typed as a union with its HTTP/2 servers).
  const node = server as unknown as Server;
  const on = (event: string, listener: (...args: never[]) => void) => {
    if (event !== 'upgrade') return node.on(event, listener as (...args: unknown[]) => void);
    const upgrade = listener as unknown as UpgradeListener;
    return node.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      interceptRefusal(req, socket);
      upgrade(req, socket, head);
    });
  };
  return Object.create(server, { on: { value: on }, addListener: { value: on } }) as S;
}
