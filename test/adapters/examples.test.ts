// The seed's example in each framework, as shipped in examples/ (imports by package name).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp as expressApp } from '../../examples/express.js';
import { createApp as fastifyApp } from '../../examples/fastify.js';
import { createHandler as fetchHandler } from '../../examples/fetch.js';
import { createApp as nodeApp } from '../../examples/node.js';

const KEY = 'mysecretapikey';

function listen(server: Server): Promise<{ url: string; close(): void }> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => {
          server.closeAllConnections();
          server.close();
        },
      }),
    ),
  );
}

type Fetcher = (path: string, init?: RequestInit) => Promise<Response>;
const examples: { name: string; start(): Promise<{ fetch: Fetcher; close(): Promise<void> | void }> }[] = [
  {
    name: 'express',
    async start() {
      const s = await listen(createServer(expressApp(KEY)));
      return { fetch: (p, i) => fetch(s.url + p, i), close: s.close };
    },
  },
  {
    name: 'fastify',
    async start() {
      const app = await fastifyApp(KEY);
      await app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = app.server.address() as AddressInfo;
      return { fetch: (p, i) => fetch(`http://127.0.0.1:${port}${p}`, i), close: () => app.close() };
    },
  },
  {
    name: 'node',
    async start() {
      const s = await listen(nodeApp(KEY));
      return { fetch: (p, i) => fetch(s.url + p, i), close: s.close };
    },
  },
  {
    name: 'fetch',
    async start() {
      const handler = fetchHandler(KEY);
      return { fetch: async (p, i) => handler(new Request(`http://localhost${p}`, i)), close: () => {} };
    },
  },
];

describe.each(examples)('example: $name', (example) => {
  let app: Awaited<ReturnType<(typeof examples)[number]['start']>>;
  beforeAll(async () => {
    app = await example.start();
  });
  afterAll(() => app.close());

  it('answers the secure data for the right key', async () => {
    const res = await app.fetch('/secure-data', { headers: { 'X-API-Key': KEY } });
    expect([res.status, await res.json()]).toEqual([200, { message: 'You have access to secure data' }]);
  });

  it('refuses a wrong or missing key with the 401 and the challenge', async () => {
    for (const [headers, detail] of [
      [{ 'X-API-Key': 'wrong' }, 'Invalid API Key'],
      [{}, 'Not authenticated'],
    ] as const) {
      const res = await app.fetch('/secure-data', { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('APIKey');
      expect(await res.json()).toEqual({ detail });
    }
  });

  it.skipIf(example.name === 'node' || example.name === 'fetch')(
    'documents the route in OpenAPI',
    async () => {
      const doc = await (await app.fetch('/openapi.json')).json();
      expect(doc.paths['/secure-data'].get.security).toEqual([{ APIKeyHeader: [] }]);
      // The docs pages add a description where the scheme has none (see docsDefaults).
      expect(doc.components.securitySchemes).toMatchObject({
        APIKeyHeader: { type: 'apiKey', name: 'X-API-Key', in: 'header' },
      });
    },
  );
});
