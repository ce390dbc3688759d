import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { type Context, type Handler, Hono } from 'hono';
import { createGuard, type Guard } from 'keyward';
import { apiKeyAuth, type KeywardEnv, protect, publicRoute } from 'keyward/hono';
import {
  type ConformanceApp,
  type ConformanceServer,
  defaultVerify,
  OWN_CACHE_CONTROL,
  optionalSchemes,
  schemes,
  type TestPrincipal,
} from './fixture.js';

type Endpoint = (c: Context<KeywardEnv<TestPrincipal>>) => Response | Promise<Response>;
type Guarded = (guard: Guard<TestPrincipal>, handler: Endpoint) => [Handler, ...Handler[]];

/** The same app twice: guards as middleware before the handler, and `protect(guard, handler)`. */
function honoVariant(name: string, guarded: Guarded): ConformanceApp {
  return {
    name,
    async start(options) {
      const verify = options.verify ?? defaultVerify();
      const { cacheControl } = options;
      const guard = createGuard({ schemes: schemes(options.header, options.bearer), verify, cacheControl });
      const optional = createGuard({
        schemes: optionalSchemes(options.header, options.bearer),
        verify,
        cacheControl,
      });
      let bodyReads = 0;
      const app = new Hono<KeywardEnv<TestPrincipal>>();
      app.get('/health', publicRoute(), (c) => c.json({ status: 'ok' }));
      app.get('/stats', publicRoute(), (c) => c.json({ bodyReads }));
      app.get(
        '/secure-data',
        ...guarded(guard, (c) =>
          c.json({ message: 'You have access to secure data', principal: c.var.principal.id }),
        ),
      );
      app.get(
        '/cached-data',
        ...guarded(guard, (c) =>
          c.json({ message: 'cacheable' }, 200, { 'cache-control': OWN_CACHE_CONTROL }),
        ),
      );
      app.get(
        '/admin-data',
        ...guarded(guard.require('admin'), (c) => c.json({ message: 'You have access to admin data' })),
      );
      app.get('/optional', ...guarded(optional, (c) => c.json({ principal: c.var.principal?.id ?? null })));
      app.post(
        '/echo',
        ...guarded(guard, async (c) => {
          bodyReads++;
          const body = await c.req.json().catch(() => undefined);
          if (body === undefined) return c.json({ detail: 'Invalid JSON body' }, 400);
          return c.json({ received: body });
        }),
      );
      app.notFound((c) => c.json({ detail: 'Not Found' }, 404));
      app.onError((_e, c) => c.json({ detail: 'Internal Server Error' }, 500));
      return listen(app);
    },
  };
}

export const honoApp = honoVariant('hono', (guard, handler) => [
  apiKeyAuth(guard) as Handler,
  handler as Handler,
]);
export const honoProtectApp = honoVariant('hono-protect', (guard, handler) => [
  protect(guard, handler) as Handler,
]);

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
