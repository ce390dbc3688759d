import { mountDocs } from '@keyward/docs/hono';
import { type Context, Hono } from 'hono';
import { apiKeyHeader, apiKeyQuery, createGuard, type Guard, KeywardConfigError, staticKeys } from 'keyward';
import { apiKeyAuth, type KeywardEnv, openApiDocument, protect, publicRoute } from 'keyward/hono';
import { describe, expect, it, vi } from 'vitest';

const header = apiKeyHeader({ name: 'X-API-Key' });
const keys = staticKeys([
  { key: 'reader-key', id: 'reader', scopes: ['read'] },
  { key: 'admin-key', id: 'admin', scopes: ['read', 'admin'] },
]);

describe('Hono: app-wide and per-route protection', () => {
  it('verifies once per request when the guard is declared at app and route level', async () => {
    const verify = vi.fn(keys);
    const guard = createGuard({ schemes: header, verify });
    const app = new Hono<KeywardEnv<{ id: string }>>();
    app.use(apiKeyAuth(guard));
    app.get('/x', apiKeyAuth(guard), (c) => c.json({ id: c.var.principal.id }));
    app.get('/admin', apiKeyAuth(guard.require('admin')), (c) => c.json({ id: c.var.principal.id }));

    const res = await app.request('/x', { headers: { 'x-api-key': 'reader-key' } });
    expect(await res.json()).toEqual({ id: 'reader' });
    expect(verify).toHaveBeenCalledTimes(1);

    verify.mockClear();
    const denied = await app.request('/admin', { headers: { 'x-api-key': 'reader-key' } });
    expect(denied.status).toBe(403);
    expect(await denied.json()).toEqual({ detail: 'Insufficient scope' });
    expect(verify).toHaveBeenCalledTimes(1);

    const allowed = await app.request('/admin', { headers: { 'x-api-key': 'admin-key' } });
    expect(await allowed.json()).toEqual({ id: 'admin' });
  });

  it('leaves routes marked publicRoute() open under an app-wide guard, and the docs too', async () => {
    const app = new Hono();
    app.use(apiKeyAuth({ schemes: header, verify: keys }));
    app.get('/health', publicRoute(), (c) => c.json({ status: 'ok' }));
    app.get('/private', (c) => c.json({ secret: true }));
    mountDocs(app, { info: { title: 'T', version: '1' } });

    expect((await app.request('/health')).status).toBe(200);
    expect((await app.request('/private')).status).toBe(401);
    expect((await app.request('/openapi.json')).status).toBe(200);
    expect((await app.request('/docs')).status).toBe(200);
    expect((await app.request('/docs/swagger-ui-bundle.js')).status).toBe(200);
    // publicRoute() applies to its own method and path only.
    expect((await app.request('/health', { method: 'POST' })).status).toBe(401);

    const doc = await (await app.request('/openapi.json')).json();
    expect(doc.paths['/health'].get.security).toBeUndefined();
    expect(doc.paths['/private'].get.security).toEqual([{ APIKeyHeader: [] }]);
    expect(doc.paths['/openapi.json']).toBeUndefined();
    expect(doc.paths['/docs']).toBeUndefined();
  });

  it('guards before the body is read', async () => {
    let reads = 0;
    const app = new Hono();
    app.post('/upload', apiKeyAuth({ schemes: header, verify: keys }), async (c) => {
      reads++;
      return c.json(await c.req.json());
    });
    const res = await app.request('/upload', { method: 'POST', body: '{"a":1}' });
    expect(res.status).toBe(401);
    expect(reads).toBe(0);
    const ok = await app.request('/upload', {
      method: 'POST',
      body: '{"a":1}',
      headers: { 'x-api-key': 'admin-key' },
    });
    expect(await ok.json()).toEqual({ a: 1 });
    expect(reads).toBe(1);
  });

  it('documents group middleware, path parameters and scopes', () => {
    const guard = createGuard({ schemes: [header, apiKeyQuery({ name: 'k' })], verify: keys });
    const app = new Hono();
    app.use('/api/*', apiKeyAuth(guard));
    app.get('/api/users/:id{[0-9]+}', (c) => c.json({}));
    app.delete('/api/users/:id', apiKeyAuth(guard.require('admin')), (c) => c.json({}));
    app.get('/open', (c) => c.json({}));
    const doc = openApiDocument(app, { title: 'T', version: '1' });
    expect(doc.paths['/api/users/{id}']?.get?.security).toEqual([{ APIKeyHeader: [] }, { APIKeyQuery: [] }]);
    expect(doc.paths['/api/users/{id}']?.delete?.security).toEqual([
      { APIKeyHeader: ['admin'] },
      { APIKeyQuery: ['admin'] },
    ]);
    expect(doc.paths['/open']?.get?.security).toBeUndefined();
  });

  it('fails loudly when two different schemes share a scheme name across routes', () => {
    const app = new Hono();
    app.get('/a', apiKeyAuth({ schemes: apiKeyHeader({ name: 'A' }), verify: keys }), (c) => c.json({}));
    app.get('/b', apiKeyAuth({ schemes: apiKeyHeader({ name: 'B' }), verify: keys }), (c) => c.json({}));
    expect(() => openApiDocument(app, { title: 'T', version: '1' })).toThrow(KeywardConfigError);
    expect(() => openApiDocument(app, { title: 'T', version: '1' })).toThrow(/APIKeyHeader/);
  });

  it('never echoes the key in a failure', async () => {
    const app = new Hono();
    app.get('/x', apiKeyAuth({ schemes: header, verify: keys }), (c) => c.json({}));
    const secret = 'attacker-supplied-key-123';
    const res = await app.request('/x', { headers: { 'x-api-key': secret } });
    expect(res.status).toBe(401);
    const text = await res.text();
    expect(text).toBe('{"detail":"Invalid API Key"}');
    expect([...res.headers.values()].join(' ')).not.toContain(secret);
  });
});

describe('Hono: publicRoute() opens only its own route', () => {
  const guard = createGuard({ schemes: header, verify: keys });

  it('a public /users/:id does not open /users/me under an app-wide guard', async () => {
    const app = new Hono();
    app.use(apiKeyAuth(guard));
    app.get('/users/me', (c) => c.json({ secret: 'my private profile' }));
    app.get('/users/:id', publicRoute(), (c) => c.json({ public: c.req.param('id') }));
    expect((await app.request('/users/me')).status).toBe(401);
    expect(await (await app.request('/users/42')).json()).toEqual({ public: '42' });
    const doc = openApiDocument(app, { title: 'T', version: '1' });
    expect(doc.paths['/users/me']?.get?.security).toEqual([{ APIKeyHeader: [] }]);
    expect(doc.paths['/users/{id}']?.get?.security).toBeUndefined();
  });

  it('a public wildcard declared later does not open a route-level guard', async () => {
    const app = new Hono();
    app.get('/files/secret', apiKeyAuth(guard), (c) => c.json({ secret: 'file' }));
    app.get('/files/*', publicRoute(), (c) => c.json({ public: true }));
    expect((await app.request('/files/secret')).status).toBe(401);
    expect((await app.request('/files/other')).status).toBe(200);
  });

  it('a public catch-all 404 does not open every route', async () => {
    const app = new Hono();
    app.use(apiKeyAuth(guard));
    app.get('/secure-data', (c) => c.json({ secret: 'data' }));
    app.all('*', publicRoute(), (c) => c.json({ detail: 'Not Found' }, 404));
    expect((await app.request('/secure-data')).status).toBe(401);
    expect((await app.request('/nowhere')).status).toBe(404);
  });

  it('a public declaration after a protected one of the same method and path does not open it', async () => {
    // The outside review's reproduction: each protected handler answers before the marker.
    const app = new Hono();
    app.use(apiKeyAuth(guard));
    app.get('/files/:name', async (c, next) => {
      if (c.req.param('name').startsWith('private')) return c.json({ file: 'PRIVATE CONTENTS' });
      await next();
    });
    app.get('/files/:name', publicRoute(), (c) => c.json({ file: 'public contents' }));
    app.get('/report', (c) => c.json({ report: 'SECRET REPORT' }));
    app.get('/report', publicRoute(), (c) => c.json({ report: 'public summary' }));

    for (const path of ['/files/private-salaries.csv', '/files/readme.txt', '/report']) {
      const res = await app.request(path);
      expect(res.status, path).toBe(401);
      expect(await res.text()).not.toMatch(/PRIVATE|SECRET|public/);
    }
    const keyed = { headers: { 'x-api-key': 'reader-key' } };
    expect(await (await app.request('/files/private-salaries.csv', keyed)).json()).toEqual({
      file: 'PRIVATE CONTENTS',
    });
    expect(await (await app.request('/files/readme.txt', keyed)).json()).toEqual({ file: 'public contents' });
    expect(await (await app.request('/report', keyed)).json()).toEqual({ report: 'SECRET REPORT' });
    // Documented as enforced.
    const doc = openApiDocument(app, { title: 'T', version: '1' });
    expect(doc.paths['/report']?.get?.security).toEqual([{ APIKeyHeader: [] }]);
    expect(doc.paths['/files/{name}']?.get?.security).toEqual([{ APIKeyHeader: [] }]);
  });

  it('an app.all() endpoint of the same path, whatever its arity, is not opened by a later marker', async () => {
    const app = new Hono();
    app.use(apiKeyAuth(guard));
    app.all('/report', (c, _next) => c.json({ report: 'SECRET REPORT' }));
    app.get('/report', publicRoute(), (c) => c.json({ report: 'public summary' }));
    expect((await app.request('/report')).status).toBe(401);
  });

  it('a marker in app.use() opens no route declared after it', async () => {
    const app = new Hono();
    app.use(apiKeyAuth(guard));
    app.use('/open/*', publicRoute());
    app.get('/open/x', (c) => c.json({ secret: true }));
    expect((await app.request('/open/x')).status).toBe(401);
  });

  it('keeps a public declaration with several handlers, and middleware declared after the guard, public', async () => {
    const app = new Hono();
    app.use(apiKeyAuth(guard));
    app.use('*', async (c, next) => {
      await next();
      c.header('x-seen', '1');
    });
    app.post(
      '/signup',
      publicRoute(),
      async (c, next) => {
        if (c.req.header('content-type') !== 'application/json') return c.json({ detail: 'JSON only' }, 415);
        await next();
      },
      (c) => c.json({ signedUp: true }),
    );
    const res = await app.request('/signup', {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-seen')).toBe('1');
    expect((await app.request('/signup', { method: 'POST', body: 'x' })).status).toBe(415);
  });

  it('runs guards declared after the marker in its own declaration', async () => {
    const optional = createGuard({
      schemes: apiKeyHeader({ name: 'X-API-Key', autoError: false }),
      verify: keys,
    });
    const app = new Hono<KeywardEnv<{ id: string }>>();
    app.use(apiKeyAuth(guard));
    app.get('/hello', publicRoute(), apiKeyAuth(optional), (c) =>
      c.json({ id: c.var.principal?.id ?? null }),
    );
    app.get('/closed', publicRoute(), apiKeyAuth(guard.require('admin')), (c) => c.json({ admin: true }));

    expect(await (await app.request('/hello')).json()).toEqual({ id: null });
    const keyed = { headers: { 'x-api-key': 'reader-key' } };
    expect(await (await app.request('/hello', keyed)).json()).toEqual({ id: 'reader' });
    expect((await app.request('/hello', { headers: { 'x-api-key': 'wrong' } })).status).toBe(401);
    expect((await app.request('/closed')).status).toBe(401);
    expect((await app.request('/closed', keyed)).status).toBe(403);
    const doc = openApiDocument(app, { title: 'T', version: '1' });
    expect(doc.paths['/closed']?.get?.security).toEqual([{ APIKeyHeader: ['admin'] }]);
  });

  it('a route a public handler falls through to stays guarded by its own apiKeyAuth', async () => {
    const app = new Hono();
    app.use(apiKeyAuth(guard));
    app.get('/files/:name', publicRoute(), async (c, next) => {
      if (c.req.param('name').startsWith('public')) return c.json({ file: 'public contents' });
      await next();
    });
    app.get('/files/:name', apiKeyAuth(guard), (c) => c.json({ file: 'PRIVATE CONTENTS' }));
    expect((await app.request('/files/public.txt')).status).toBe(200);
    expect((await app.request('/files/private.txt')).status).toBe(401);
  });

  it('finds its place in the chain when wrapped in another middleware', async () => {
    const auth = apiKeyAuth(guard);
    const app = new Hono();
    app.use((c, next) => auth(c as never, next));
    app.get('/health', publicRoute(), (c) => c.json({ status: 'ok' }));
    app.get('/private', (c) => c.json({ secret: true }));
    expect((await app.request('/health')).status).toBe(200);
    expect((await app.request('/private')).status).toBe(401);
  });

  it('the docs routes do not open a user route under /docs', async () => {
    const app = new Hono();
    app.use(apiKeyAuth(guard));
    app.get('/docs/private', (c) => c.json({ secret: true }));
    mountDocs(app, { info: { title: 'T', version: '1' } });
    expect((await app.request('/docs/private')).status).toBe(401);
    expect((await app.request('/docs/swagger-ui.css')).status).toBe(200);
  });
});

describe('Hono: Cache-Control on authenticated responses', () => {
  const guard = createGuard({ schemes: header, verify: keys });
  const keyed = { headers: { 'x-api-key': 'reader-key' } };
  const routes: [string, (c: Context) => Response | Promise<Response>][] = [
    ['/json', (c) => c.json({ ok: true })],
    ['/raw', () => new Response('raw')],
    ['/async', async (c) => c.text('later')],
    ['/immutable', () => Response.redirect('http://localhost/elsewhere', 302)],
  ];

  function app(g: Guard<unknown>) {
    const a = new Hono();
    for (const [path, handler] of routes) {
      a.get(path, apiKeyAuth(g), handler);
      a.get(`/protect${path}`, protect(g, handler));
    }
    a.get('/own', apiKeyAuth(g), (c) => c.text('own', 200, { 'Cache-Control': 'private, max-age=60' }));
    a.get(
      '/protect/own',
      protect(g, () => new Response('own', { headers: { 'cache-control': 'private, max-age=60' } })),
    );
    return a;
  }

  it.each(routes.flatMap(([path]) => [path, `/protect${path}`]))(
    'adds no-store to %s, whatever the handler built',
    async (path) => {
      const res = await app(guard).request(path, keyed);
      expect(res.status).toBeLessThan(400);
      expect(res.headers.get('cache-control')).toBe('no-store');
    },
  );

  it('keeps the route’s own, and adds nothing with cacheControl: false', async () => {
    for (const path of ['/own', '/protect/own']) {
      expect((await app(guard).request(path, keyed)).headers.get('cache-control')).toBe(
        'private, max-age=60',
      );
    }
    const off = app(createGuard({ schemes: header, verify: keys, cacheControl: false }));
    for (const path of ['/json', '/protect/json', '/raw']) {
      expect((await off.request(path, keyed)).headers.has('cache-control')).toBe(false);
    }
  });
});

describe('Hono: protect(guard, handler), the single-handler form', () => {
  it('guards, documents and shares the once-per-request rule with apiKeyAuth', async () => {
    const verify = vi.fn(keys);
    const guard = createGuard({ schemes: header, verify });
    const app = new Hono<KeywardEnv<{ id: string }>>();
    app.get(
      '/x',
      protect(guard, (c) => c.json({ id: c.var.principal.id })),
    );
    app.use('/both/*', apiKeyAuth(guard));
    app.get(
      '/both/admin',
      protect(guard.require('admin'), (c) => c.json({ id: c.var.principal.id })),
    );
    app.get('/open', (c) => c.json({}));

    expect((await app.request('/x')).status).toBe(401);
    expect(await (await app.request('/x', { headers: { 'x-api-key': 'reader-key' } })).json()).toEqual({
      id: 'reader',
    });
    verify.mockClear();
    const denied = await app.request('/both/admin', { headers: { 'x-api-key': 'reader-key' } });
    expect(denied.status).toBe(403);
    expect(verify).toHaveBeenCalledTimes(1);

    const doc = openApiDocument(app, { title: 'T', version: '1' });
    expect(doc.paths['/x']?.get?.security).toEqual([{ APIKeyHeader: [] }]);
    expect(doc.paths['/both/admin']?.get?.security).toEqual([{ APIKeyHeader: ['admin'] }]);
    expect(doc.paths['/open']?.get?.security).toBeUndefined();
  });

  it('is not opened by a publicRoute() on the same path', async () => {
    const app = new Hono();
    app.get(
      '/x',
      publicRoute(),
      protect({ schemes: header, verify: keys }, (c) => c.json({ secret: true })),
    );
    expect((await app.request('/x')).status).toBe(401);
  });
});

it('Hono: a handler taking (c, next) still counts as the route that answers', async () => {
  const guard = createGuard({ schemes: header, verify: keys });
  const app = new Hono();
  app.use('*', apiKeyAuth(guard));
  app.get('/users/:id', (c, _next) => c.json({ secretOf: c.req.param('id') }));
  app.get('/users/me', publicRoute(), (c) => c.json({ me: true }));
  // /users/:id answers /users/me (declared first): the marker on /users/me must not open it.
  expect((await app.request('/users/me')).status).toBe(401);
  const doc = openApiDocument(app, { title: 'T', version: '1' });
  expect(doc.paths['/users/{id}']?.get?.security).toEqual([{ APIKeyHeader: [] }]);
  expect(doc.paths['/users/me']?.get?.security).toBeUndefined();
});
