import type { AddressInfo } from 'node:net';
import { mountDocs } from '@keyward/docs/express';
import express, { type ErrorRequestHandler, type Express, type Request, type Response } from 'express';
import { apiKeyCookie, apiKeyHeader, apiKeyQuery, createGuard, staticKeys } from 'keyward';
import { apiKeyAuth, describeRoutes, openApiDocument, principalOf, withSecurity } from 'keyward/express';
import { afterEach, describe, expect, it, vi } from 'vitest';

const header = apiKeyHeader({ name: 'X-API-Key' });
const keys = staticKeys([
  { key: 'reader-key', id: 'reader', scopes: ['read'] },
  { key: 'admin-key', id: 'admin', scopes: ['read', 'admin'] },
]);

const servers: { close(): void; closeAllConnections(): void }[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});

async function serve(app: Express): Promise<string> {
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise((resolve) => server.once('listening', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const key = (k: string) => ({ headers: { 'x-api-key': k } });
const ok = (req: Request, res: Response) => {
  res.json({ id: principalOf<{ id: string }>(req)?.id ?? null });
};

describe('Express: where the middleware goes', () => {
  it('verifies once per request when declared at app and route level with one family', async () => {
    const verify = vi.fn(keys);
    const guard = createGuard({ schemes: header, verify });
    const app = express();
    app.use(apiKeyAuth(guard));
    app.get('/x', apiKeyAuth(guard), ok);
    app.get('/admin', apiKeyAuth(guard.require('admin')), ok);
    const url = await serve(app);

    expect(await (await fetch(`${url}/x`, key('reader-key'))).json()).toEqual({ id: 'reader' });
    expect(verify).toHaveBeenCalledTimes(1);
    verify.mockClear();
    const denied = await fetch(`${url}/admin`, key('reader-key'));
    expect(denied.status).toBe(403);
    expect(await denied.json()).toEqual({ detail: 'Insufficient scope' });
    expect(verify).toHaveBeenCalledTimes(1);
    expect(await (await fetch(`${url}/admin`, key('admin-key'))).json()).toEqual({ id: 'admin' });
  });

  it('verifies again for a guard of another family', async () => {
    const first = vi.fn(keys);
    const second = vi.fn(keys);
    const app = express();
    app.use(apiKeyAuth({ schemes: header, verify: first }));
    app.get('/x', apiKeyAuth({ schemes: header, verify: second }), ok);
    const url = await serve(app);
    expect((await fetch(`${url}/x`, key('reader-key'))).status).toBe(200);
    expect([first.mock.calls.length, second.mock.calls.length]).toEqual([1, 1]);
  });

  it('guards a router and leaves routes declared before the guard public', async () => {
    const app = express();
    app.get('/health', (_req, res) => {
      res.json({ status: 'ok' });
    });
    const api = express.Router();
    api.use(apiKeyAuth({ schemes: header, verify: keys }));
    api.get('/items/:id', ok);
    app.use('/api', api);
    app.get('/open', ok);
    const url = await serve(app);

    expect((await fetch(`${url}/health`)).status).toBe(200);
    expect((await fetch(`${url}/open`)).status).toBe(200);
    expect((await fetch(`${url}/api/items/1`)).status).toBe(401);
    expect(await (await fetch(`${url}/api/items/1`, key('admin-key'))).json()).toEqual({ id: 'admin' });
  });

  it('answers failures as JSON, never through the app error handler or its HTML', async () => {
    const onError = vi.fn<ErrorRequestHandler>((_e, _req, res) => {
      res.status(500).type('html').send('<h1>Oops</h1>');
    });
    const app = express();
    app.use((_req, res, next) => {
      res.setHeader('access-control-allow-origin', '*');
      next();
    });
    app.use(apiKeyAuth({ schemes: header, verify: keys }));
    app.get('/x', ok);
    app.use(onError);
    const url = await serve(app);

    const res = await fetch(`${url}/x`, key('nope'));
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('www-authenticate')).toBe('APIKey');
    // Headers set by earlier middleware (CORS here) are kept on the failure.
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(await res.text()).toBe('{"detail":"Invalid API Key"}');
    expect(onError).not.toHaveBeenCalled();
  });

  it('puts the principal on req.principal', async () => {
    const app = express();
    app.get('/x', apiKeyAuth({ schemes: header, verify: keys }), (req, res) => {
      res.json(req.principal);
    });
    const url = await serve(app);
    expect(await (await fetch(`${url}/x`, key('reader-key'))).json()).toEqual({
      id: 'reader',
      scopes: ['read'],
    });
  });

  it('adds the Deprecation header when the key came through a deprecated scheme', async () => {
    const query = apiKeyQuery({ name: 'api_key', deprecated: new Date('2026-01-01T00:00:00Z') });
    const app = express();
    app.get('/x', apiKeyAuth({ schemes: [header, query], verify: keys }), ok);
    const url = await serve(app);
    const viaQuery = await fetch(`${url}/x?api_key=reader-key`);
    expect(viaQuery.headers.get('deprecation')).toBe('@1767225600');
    expect((await fetch(`${url}/x`, key('reader-key'))).headers.get('deprecation')).toBeNull();
  });
});

describe('Express: sync fast path', () => {
  function call(middleware: ReturnType<typeof apiKeyAuth>, headers: Record<string, string>) {
    const req = { headers, url: '/x' } as unknown as Request;
    const res = {
      headersSent: false,
      hasHeader: vi.fn(() => false),
      setHeader: vi.fn(),
      writeHead: vi.fn(),
      end: vi.fn(),
    };
    const next = vi.fn();
    const returned = middleware(req, res as unknown as Response, next);
    return { returned, next, res, req };
  }

  it('creates no promise and calls next before returning when the verifier is sync', () => {
    const { returned, next, req, res } = call(apiKeyAuth({ schemes: header, verify: keys }), {
      'x-api-key': 'reader-key',
    });
    expect(returned).toBeUndefined();
    expect(next).toHaveBeenCalledTimes(1);
    expect(req.principal).toEqual({ id: 'reader', scopes: ['read'] });
    expect(res.setHeader).toHaveBeenCalledWith('cache-control', 'no-store');
  });

  it('writes a failure synchronously too', () => {
    const { returned, next, res } = call(apiKeyAuth({ schemes: header, verify: keys }), {});
    expect(returned).toBeUndefined();
    expect(next).not.toHaveBeenCalled();
    expect(res.writeHead).toHaveBeenCalledWith(
      401,
      expect.objectContaining({ 'www-authenticate': 'APIKey' }),
    );
  });

  it('waits for an async verifier', async () => {
    const { next } = call(
      apiKeyAuth({ schemes: header, verify: async (k) => (k === 'a' ? { id: 'a' } : null) }),
      {
        'x-api-key': 'a',
      },
    );
    expect(next).not.toHaveBeenCalled();
    await vi.waitFor(() => expect(next).toHaveBeenCalledTimes(1));
  });
});

describe('Express: OpenAPI from the router stack', () => {
  function app() {
    const guard = createGuard({ schemes: [header, apiKeyCookie({ name: 'session' })], verify: keys });
    const optional = createGuard({
      schemes: apiKeyHeader({ name: 'X-API-Key', autoError: false }),
      verify: keys,
    });
    const a = express();
    mountDocs(a, { info: { title: 'Shop', version: '1.0.0' } });
    a.get('/health', (_req, res) => {
      res.json({ status: 'ok' });
    });
    a.get('/maybe', apiKeyAuth(optional), ok);
    a.use(apiKeyAuth(guard));
    a.get('/items', ok);
    a.post('/items', apiKeyAuth(guard.require('write')), ok);
    const admin = express.Router();
    admin.use(apiKeyAuth(guard.require('admin')));
    admin.get('/users/:userId', ok);
    admin.delete('/files/*path', ok);
    a.use('/admin', admin);
    return a;
  }

  it('describes each endpoint with the guards that run for it', () => {
    const routes = describeRoutes(app()).map((r) => ({
      route: `${r.method} ${r.path}`,
      scopes: r.guard?.scopes,
      optional: r.guard?.optional,
    }));
    expect(routes).toEqual([
      { route: 'get /health', scopes: undefined, optional: undefined },
      { route: 'get /maybe', scopes: [], optional: true },
      { route: 'get /items', scopes: [], optional: false },
      { route: 'post /items', scopes: ['write'], optional: false },
      { route: 'get /admin/users/{userId}', scopes: ['admin'], optional: false },
      { route: 'delete /admin/files/{path}', scopes: ['admin'], optional: false },
    ]);
  });

  it('builds the document with FastAPI-shaped schemes and per-operation security', () => {
    const doc = openApiDocument(app(), { title: 'Shop', version: '1.0.0' });
    expect(doc.components?.securitySchemes).toEqual({
      APIKeyHeader: { type: 'apiKey', name: 'X-API-Key', in: 'header' },
      APIKeyCookie: { type: 'apiKey', name: 'session', in: 'cookie' },
    });
    expect(doc.paths['/health']?.get?.security).toBeUndefined();
    expect(doc.paths['/maybe']?.get?.security).toEqual([{ APIKeyHeader: [] }, {}]);
    expect(doc.paths['/items']?.get?.security).toEqual([{ APIKeyHeader: [] }, { APIKeyCookie: [] }]);
    expect(doc.paths['/items']?.post?.security).toEqual([
      { APIKeyHeader: ['write'] },
      { APIKeyCookie: ['write'] },
    ]);
    expect(doc.paths['/admin/users/{userId}']?.get?.security).toEqual([
      { APIKeyHeader: ['admin'] },
      { APIKeyCookie: ['admin'] },
    ]);
    expect(doc.paths['/openapi.json']).toBeUndefined();
    expect(doc.paths['/docs']).toBeUndefined();
  });

  it('adds security to a document made elsewhere', () => {
    const mine = {
      openapi: '3.1.0',
      info: { title: 'Mine', version: '2' },
      paths: { '/items': { get: { summary: 'List items' } } },
      components: { securitySchemes: { Bearer: { type: 'http', scheme: 'bearer' } } },
    };
    const doc = withSecurity(app(), mine);
    expect(doc.paths['/items']?.get).toMatchObject({
      summary: 'List items',
      security: [{ APIKeyHeader: [] }, { APIKeyCookie: [] }],
      description:
        'Authenticated with an API key in the header `X-API-Key` or cookie `session`. No scope is required.',
    });
    expect(Object.keys((doc.paths['/items']?.get as { responses?: object })?.responses ?? {})).toEqual([
      '401',
      '403',
      '429',
      '503',
    ]);
    expect(Object.keys(doc.components?.securitySchemes ?? {})).toEqual([
      'Bearer',
      'APIKeyHeader',
      'APIKeyCookie',
    ]);
  });

  it('serves the document and the docs page publicly, routes declared later included', async () => {
    const url = await serve(app());
    const doc = await (await fetch(`${url}/openapi.json`)).json();
    expect(Object.keys(doc.paths)).toContain('/admin/files/{path}');
    const page = await fetch(`${url}/docs`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('swagger-ui');
    expect((await fetch(`${url}/docs/swagger-ui-bundle.js`)).status).toBe(200);
    expect((await fetch(`${url}/items`)).status).toBe(401);
  });
});
