import { getRequestListener } from '@hono/node-server';
import { createGuard } from 'keyward';
import { withApiKey } from 'keyward/fetch';
import {
  type ConformanceApp,
  defaultVerify,
  OWN_CACHE_CONTROL,
  optionalSchemes,
  schemes,
  type TestPrincipal,
} from './fixture.js';
import { listenNode } from './serve-node.js';

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { ...headers, 'content-type': 'application/json' } });

/** A Web-standard fetch handler, served through @hono/node-server's Request/Response bridge. */
export const fetchApp: ConformanceApp = {
  name: 'fetch',
  async start(options) {
    const verify = options.verify ?? defaultVerify();
    const { cacheControl } = options;
    const guard = createGuard<TestPrincipal>({
      schemes: schemes(options.header, options.bearer),
      verify,
      cacheControl,
    });
    const optional = createGuard<TestPrincipal>({
      schemes: optionalSchemes(options.header, options.bearer),
      verify,
      cacheControl,
    });
    let bodyReads = 0;

    const routes: Record<string, (request: Request) => Response | Promise<Response>> = {
      'GET /health': () => json({ status: 'ok' }),
      'GET /stats': () => json({ bodyReads }),
      'GET /secure-data': withApiKey(guard, (_request, principal) =>
        json({ message: 'You have access to secure data', principal: principal.id }),
      ),
      'GET /cached-data': withApiKey(guard, () =>
        json({ message: 'cacheable' }, 200, { 'cache-control': OWN_CACHE_CONTROL }),
      ),
      'GET /admin-data': withApiKey(guard.require('admin'), () =>
        json({ message: 'You have access to admin data' }),
      ),
      'GET /optional': withApiKey(optional, (_request, principal) =>
        json({ principal: principal?.id ?? null }),
      ),
      'POST /echo': withApiKey(guard, async (request) => {
        bodyReads++;
        try {
          return json({ received: await request.json() });
        } catch {
          return json({ detail: 'Invalid JSON body' }, 400);
        }
      }),
    };
    const handler = (request: Request) => {
      const route = routes[`${request.method} ${new URL(request.url).pathname}`];
      return route ? route(request) : json({ detail: 'Not Found' }, 404);
    };
    return listenNode(getRequestListener(handler));
  },
};
