import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createNodeWebSocket } from '@hono/node-ws';
import { Hono } from 'hono';
import { apiKeyHeader, apiKeyQuery, createGuard, type GuardOptions, staticKeys } from 'keyward';
import { apiKeyAuth, type KeywardEnv } from 'keyward/hono';
import { guardUpgrade, keywardUpgrades, principalOf } from 'keyward/node';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';

interface Principal {
  id: string;
  scopes: readonly string[];
}
const schemes = [apiKeyHeader({ name: 'X-API-Key' }), apiKeyQuery({ name: 'x-api-key' })];
const keys = staticKeys([{ key: 'kw_socket_key_0123456789', id: 'socket-client', scopes: ['read'] }]);
const GOOD = { 'x-api-key': 'kw_socket_key_0123456789' };

type Outcome =
  | { kind: 'open'; message: string }
  | { kind: 'refused'; status: number; headers: IncomingMessage['headers']; body: string };

/** Connects with a real `ws` client and reports whether the upgrade happened. */
function connect(url: string, headers: Record<string, string> = {}): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('message', (data) => {
      resolve({ kind: 'open', message: String(data) });
      ws.close();
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk;
      });
      res.on('end', () =>
        resolve({ kind: 'refused', status: res.statusCode ?? 0, headers: res.headers, body }),
      );
    });
    ws.once('error', (error) => {
      if (!/Unexpected server response/.test(error.message)) reject(error);
    });
  });
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

function listen(server: Server): Promise<string> {
  servers.push(server);
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
}

describe('WebSocket upgrades with ws on node:http', () => {
  async function start(verify: GuardOptions<Principal>['verify'] = keys) {
    const wss = new WebSocketServer({ noServer: true });
    const connections: string[] = [];
    wss.on('connection', (ws: WebSocket, req: IncomingMessage, handed: Principal) => {
      const principal = principalOf<Principal>(req);
      connections.push(principal?.id ?? '?');
      ws.send(JSON.stringify({ principal: principal?.id, handed: handed.id }));
    });
    const server = createServer((_req, res) => res.writeHead(426).end());
    const guard = createGuard<Principal>({ schemes, verify });
    server.on(
      'upgrade',
      guardUpgrade(guard, (req, socket, head, principal) => {
        wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req, principal));
      }),
    );
    const url = await listen(server);
    return { url, connections };
  }

  it('refuses a missing key with 401, the challenge and the JSON body, before upgrading', async () => {
    const { url, connections } = await start();
    const outcome = await connect(url);
    expect(outcome).toMatchObject({ kind: 'refused', status: 401, body: '{"detail":"Not authenticated"}' });
    expect(outcome.kind === 'refused' && outcome.headers).toMatchObject({
      'www-authenticate': 'APIKey',
      'content-type': 'application/json',
      'cache-control': 'no-store',
      connection: 'close',
    });
    expect(connections).toEqual([]);
  });

  it('refuses a wrong key with 401 Invalid API Key, without echoing it', async () => {
    const { url, connections } = await start();
    const outcome = await connect(url, { 'x-api-key': 'kw_wrong_key_987654321' });
    expect(outcome).toMatchObject({ kind: 'refused', status: 401, body: '{"detail":"Invalid API Key"}' });
    expect(JSON.stringify(outcome)).not.toContain('kw_wrong_key_987654321');
    expect(connections).toEqual([]);
  });

  it('connects with a valid key, in a header or the query, and hands the principal to the socket', async () => {
    const { url, connections } = await start();
    const expected = { kind: 'open', message: '{"principal":"socket-client","handed":"socket-client"}' };
    expect(await connect(url, GOOD)).toEqual(expected);
    expect(await connect(`${url}/?x-api-key=kw_socket_key_0123456789`)).toEqual(expected);
    expect(connections).toEqual(['socket-client', 'socket-client']);
  });

  it('works with an async verifier, and fails closed with 503 when it throws', async () => {
    const slow = await start(async (key, context) => keys(key, context));
    expect(await connect(slow.url, GOOD)).toMatchObject({ kind: 'open' });
    expect(await connect(slow.url, { 'x-api-key': 'kw_wrong_key_987654321' })).toMatchObject({ status: 401 });
    const broken = await start(async () => {
      throw new Error('store down');
    });
    expect(await connect(broken.url, GOOD)).toMatchObject({
      kind: 'refused',
      status: 503,
      body: '{"detail":"Authentication temporarily unavailable"}',
    });
  });
});

describe('WebSocket upgrades with Hono and @hono/node-ws', () => {
  async function start(full = false) {
    const app = new Hono<KeywardEnv<Principal>>();
    const { injectWebSocket, upgradeWebSocket } = createNodeWebSocket({ app });
    const opened: string[] = [];
    app.get(
      '/ws',
      apiKeyAuth({ schemes, verify: keys }),
      upgradeWebSocket((c) => ({
        onOpen(_event, ws) {
          opened.push(c.var.principal.id);
          ws.send(c.var.principal.id);
        },
      })),
    );
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
    injectWebSocket(full ? keywardUpgrades(server) : server);
    servers.push(server);
    await new Promise((resolve) => server.once('listening', resolve));
    return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`, opened };
  }

  it('refuses a missing or wrong key with 401 before the upgrade', async () => {
    const { url, opened } = await start();
    expect(await connect(url)).toMatchObject({ kind: 'refused', status: 401 });
    expect(await connect(url, { 'x-api-key': 'kw_wrong_key_987654321' })).toMatchObject({
      kind: 'refused',
      status: 401,
    });
    expect(opened).toEqual([]);
  });

  it('with keywardUpgrades, refuses with the full answer: challenge and JSON body', async () => {
    const { url, opened } = await start(true);
    const outcome = await connect(url, { 'x-api-key': 'kw_wrong_key_987654321' });
    expect(outcome).toMatchObject({ kind: 'refused', status: 401, body: '{"detail":"Invalid API Key"}' });
    expect(outcome.kind === 'refused' && outcome.headers).toMatchObject({
      'www-authenticate': 'APIKey',
      'content-type': 'application/json',
      'cache-control': 'no-store',
    });
    expect(await connect(url, GOOD)).toEqual({ kind: 'open', message: 'socket-client' });
    expect(opened).toEqual(['socket-client']);
  });

  it('connects with a valid key, the principal in the handler', async () => {
    const { url, opened } = await start();
    expect(await connect(url, GOOD)).toEqual({ kind: 'open', message: 'socket-client' });
    expect(await connect(`${url}?x-api-key=kw_socket_key_0123456789`)).toEqual({
      kind: 'open',
      message: 'socket-client',
    });
    expect(opened).toEqual(['socket-client', 'socket-client']);
  });
});
