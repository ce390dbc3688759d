import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import { apiKeyHeader, createGuard, KeywardConfigError, staticKeys } from 'keyward';
import { keyward, withSecurity } from 'keyward/fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';

// Registration orders that an onRoute-only plugin cannot see: the routes must be guarded
// (and documented) all the same, or the app must refuse to start.

const header = apiKeyHeader({ name: 'X-API-Key' });
const keys = staticKeys([
  { key: 'reader-key', id: 'reader', scopes: ['read'] },
  { key: 'admin-key', id: 'admin', scopes: ['read', 'admin'] },
]);
const key = (k: string) => ({ 'x-api-key': k });
const who = async (request: { principal?: unknown }) => ({
  id: (request.principal as { id?: string } | undefined)?.id ?? null,
});

const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});
function fastify() {
  const app = Fastify();
  apps.push(app);
  return app;
}

type Order = 'without await' | 'route first' | 'child plugin first' | 'awaited';

/**
 * Declares `/secret`, `/health` (public) and `/admin` (scoped) around keyward in one order;
 * `first` registers what must come before everything (e.g. @fastify/swagger).
 */
async function appIn(
  order: Order,
  options: { verify?: typeof keys; first?: (app: FastifyInstance) => PromiseLike<unknown> } = {},
) {
  const guard = createGuard({ schemes: header, verify: options.verify ?? keys });
  const app = fastify();
  await options.first?.(app);
  const routes = (ctx: FastifyInstance) => {
    ctx.get('/secret', who);
    ctx.get('/health', { config: { keyward: false } }, async () => ({ status: 'ok' }));
    ctx.get('/admin', { config: { keyward: { scopes: ['admin'] } } }, who);
  };
  if (order === 'without await') {
    app.register(keyward, { guard });
    routes(app);
  } else if (order === 'route first') {
    routes(app);
    app.register(keyward, { guard });
  } else if (order === 'child plugin first') {
    app.register(async (child) => routes(child));
    app.register(keyward, { guard });
  } else {
    await app.register(keyward, { guard });
    routes(app);
  }
  await app.ready();
  return app;
}

const orders: Order[] = ['without await', 'route first', 'child plugin first', 'awaited'];

describe('Fastify: guarded whatever the registration order', () => {
  it.each(orders)(
    'guards routes declared before the plugin or registered without await (%s)',
    async (order) => {
      const app = await appIn(order);
      expect((await app.inject('/secret')).statusCode).toBe(401);
      expect((await app.inject({ method: 'HEAD', url: '/secret' })).statusCode).toBe(401);
      expect((await app.inject({ url: '/secret', headers: key('reader-key') })).json()).toEqual({
        id: 'reader',
      });
      expect((await app.inject('/health')).statusCode).toBe(200);
      expect((await app.inject({ url: '/admin', headers: key('reader-key') })).statusCode).toBe(403);
      expect((await app.inject({ url: '/admin', headers: key('admin-key') })).statusCode).toBe(200);
    },
  );

  it.each(orders)('still answers unknown routes with a 404, key or not (%s)', async (order) => {
    const app = await appIn(order);
    expect((await app.inject('/nope')).statusCode).toBe(404);
    expect((await app.inject({ url: '/nope', headers: key('bad') })).statusCode).toBe(404);
  });

  it('never reads the body of an unauthenticated request to a route declared without await', async () => {
    const parser = vi.fn((_req: unknown, body: string, done: (e: null, v: unknown) => void) =>
      done(null, body),
    );
    const app = fastify();
    app.addContentTypeParser('application/json', { parseAs: 'string' }, parser);
    app.register(keyward, { guard: { schemes: header, verify: keys } });
    app.post('/x', who);
    const res = await app.inject({
      method: 'POST',
      url: '/x',
      payload: '{}',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(401);
    expect(parser).not.toHaveBeenCalled();
  });

  it('guards only its own context when registered without await inside a plugin', async () => {
    const app = fastify();
    app.get('/public', who);
    app.register(
      async (api) => {
        api.get('/early', who);
        api.register(keyward, { guard: { schemes: header, verify: keys } });
        api.get('/x', who);
        api.register(async (nested) => {
          nested.get('/nested', who);
        });
      },
      { prefix: '/api' },
    );
    app.register(async (sibling) => {
      sibling.get('/sibling', who);
    });
    app.get('/late', who);
    for (const url of ['/public', '/sibling', '/late']) {
      expect((await app.inject(url)).statusCode, url).toBe(200);
    }
    for (const url of ['/api/early', '/api/x', '/api/nested']) {
      expect((await app.inject(url)).statusCode, url).toBe(401);
      expect((await app.inject({ url, headers: key('reader-key') })).statusCode, url).toBe(200);
    }
  });

  it('verifies once per request with one family at two levels, whatever the order', async () => {
    const verify = vi.fn(keys);
    const guard = createGuard({ schemes: header, verify });
    const app = fastify();
    app.register(async (child) => {
      child.get('/admin', who);
      child.register(keyward, { guard: guard.require('admin') });
    });
    app.register(keyward, { guard });
    expect((await app.inject({ url: '/admin', headers: key('reader-key') })).statusCode).toBe(403);
    expect(verify).toHaveBeenCalledTimes(1);
    verify.mockClear();
    expect((await app.inject({ url: '/admin', headers: key('admin-key') })).json()).toEqual({ id: 'admin' });
    expect(verify).toHaveBeenCalledTimes(1);
  });

  it('refuses at startup a bad config.keyward on a route the plugin did not see declared', async () => {
    const app = fastify();
    app.register(keyward, { guard: { schemes: header, verify: keys } });
    app.get('/x', { config: { keyward: 'yes' as unknown as boolean } }, who);
    await expect(app.ready()).rejects.toThrow(
      new KeywardConfigError('config.keyward of GET /x: must be true, false, a guard or { scopes: [...] }'),
    );
  });

  it('with global: false guards only opted-in routes declared without await', async () => {
    const app = fastify();
    app.register(keyward, { guard: { schemes: header, verify: keys }, global: false });
    app.get('/open', who);
    app.get('/closed', { config: { keyward: true } }, who);
    expect((await app.inject('/open')).statusCode).toBe(200);
    expect((await app.inject('/closed')).statusCode).toBe(401);
  });
});

describe('Fastify: @fastify/swagger documents what is enforced, whatever the order', () => {
  type Doc = { paths: Record<string, Record<string, { security?: unknown }>> };
  const guarded = [{ APIKeyHeader: [] }];

  it.each(orders)('documents routes declared before the plugin or without await (%s)', async (order) => {
    const app = await appIn(order, {
      first: (a) =>
        a.register(swagger, {
          openapi: { info: { title: 'T', version: '1' } },
          transformObject: withSecurity,
        }),
    });
    const doc = app.swagger() as unknown as Doc;
    expect(doc.paths['/secret']?.get?.security).toEqual(guarded);
    expect(doc.paths['/health']?.get?.security).toBeUndefined();
    expect(doc.paths['/admin']?.get?.security).toEqual([{ APIKeyHeader: ['admin'] }]);
    expect((await app.inject('/secret')).statusCode).toBe(401);
    expect((await app.inject('/health')).statusCode).toBe(200);
  });

  it('documents the HEAD route of a GET with an operationId when HEAD routes are exposed', async () => {
    const app = fastify();
    await app.register(swagger, {
      openapi: { info: { title: 'T', version: '1' } },
      exposeHeadRoutes: true,
      transformObject: withSecurity,
    });
    app.register(keyward, { guard: { schemes: header, verify: keys } });
    app.get('/secret', { schema: { operationId: 'getSecret' } }, who);
    app.get('/health', { config: { keyward: false }, schema: { operationId: 'health' } }, who);
    await app.ready();
    const doc = app.swagger() as unknown as Doc;
    expect(doc.paths['/secret']?.head?.security).toEqual(guarded);
    expect(doc.paths['/health']?.head?.security).toBeUndefined();
    expect((await app.inject({ method: 'HEAD', url: '/secret' })).statusCode).toBe(401);
  });
});
