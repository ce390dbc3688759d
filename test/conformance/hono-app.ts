import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { apiKeyAuth, type KeywardEnv, publicRoute } from '../../src/adapters/hono/index.js';
import { createGuard } from '../../src/index.js';
import {
  type ConformanceApp,
  type ConformanceServer,
  defaultVerify,
  optionalSchemes,
  schemes,
  type TestPrincipal,
} from './fixture.js';

export const honoApp: ConformanceApp = {
  name: 'hono',
  async start(options) {
    const verify = options.verify ?? defaultVerify();
    const guard = createGuard({ schemes: schemes(), verify });
    const optional = createGuard({ schemes: optionalSchemes(), verify });
    let bodyReads = 0;
    const app = new Hono<KeywardEnv<TestPrincipal>>();
    app.get('/health', publicRoute(), (c) => c.json({ status: 'ok' }));
    app.get('/stats', publicRoute(), (c) => c.json({ bodyReads }));
    app.get('/secure-data', apiKeyAuth(guard), (c) =>
      c.json({ message: 'You have access to secure data', principal: c.var.principal.id }, 200, {
        'cache-control': 'no-store',
      }),
    );
    app.get('/admin-data', apiKeyAuth(guard.require('admin')), (c) =>
      c.json({ message: 'You have access to admin data' }, 200, { 'cache-control': 'no-store' }),
    );
    app.get('/optional', apiKeyAuth(optional), (c) => c.json({ principal: c.var.principal?.id ?? null }));
    app.post('/echo', apiKeyAuth(guard), async (c) => {
      bodyReads++;
      const body = await c.req.json().catch(() => undefined);
      if (body === undefined) return c.json({ detail: 'Invalid JSON body' }, 400);
      return c.json({ received: body });
    });
    app.notFound((c) => c.json({ detail: 'Not Found' }, 404));
    app.onError((_e, c) => c.json({ detail: 'Internal Server Error' }, 500));
    return listen(app);
  },
};

function listen(app: Hono<KeywardEnv<TestPrincipal>>): Promise<ConformanceServer> {
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            (server as { closeAllConnections?: () => void }).closeAllConnections?.();
          }),
      });
    });
  });
}
