import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type onRequestHookHandler } from 'fastify';
import {
  apiKeyCookie,
  apiKeyHeader,
  apiKeyQuery,
  createGuard,
  KeywardConfigError,
  staticKeys,
} from 'keyward';
import { keyward, withSecurity } from 'keyward/fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';

const header = apiKeyHeader({ name: 'X-API-Key' });
const keys = staticKeys([
  { key: 'reader-key', id: 'reader', scopes: ['read'] },
  { key: 'admin-key', id: 'admin', scopes: ['read', 'admin'] },
]);
const key = (k: string) => ({ 'x-api-key': k });

const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});
function fastify() {
  const app = Fastify();
  apps.push(app);
  return app;
}
const who = async (request: { principal?: unknown }) => ({
  id: (request.principal as { id?: string } | undefined)?.id ?? null,
});

describe('Fastify: which routes are guarded', () => {
  it('guards every route by default; config.keyward opts out, narrows scopes or names another guard', async () => {
    const guard = createGuard({ schemes: header, verify: keys });
    const optional = createGuard({
      schemes: apiKeyHeader({ name: 'X-API-Key', autoError: false }),
      verify: keys,
    });
    const app = fastify();
    await app.register(keyward, { guard });
    app.get('/health', { config: { keyward: false } }, async () => ({ status: 'ok' }));
    app.get('/x', who);
    app.get('/admin', { config: { keyward: { scopes: ['admin'] } } }, who);
    app.get('/maybe', { config: { keyward: optional } }, who);

    expect((await app.inject('/health')).statusCode).toBe(200);
    expect((await app.inject('/x')).statusCode).toBe(401);
    expect((await app.inject({ url: '/x', headers: key('reader-key') })).json()).toEqual({ id: 'reader' });
    const denied = await app.inject({ url: '/admin', headers: key('reader-key') });
    expect([denied.statusCode, denied.body]).toEqual([403, '{"detail":"Insufficient scope"}']);
    expect((await app.inject({ url: '/admin', headers: key('admin-key') })).statusCode).toBe(200);
    expect((await app.inject('/maybe')).json()).toEqual({ id: null });
  });

  it('with global: false guards only the routes that opt in', async () => {
    const app = fastify();
    await app.register(keyward, { guard: { schemes: header, verify: keys }, global: false });
    app.get('/open', who);
    app.get('/closed', { config: { keyward: true } }, who);
    expect((await app.inject('/open')).statusCode).toBe(200);
    expect((await app.inject('/closed')).statusCode).toBe(401);
  });

  it('respects encapsulation: registered inside a plugin it guards that plugin only', async () => {
    const app = fastify();
    app.get('/public', who);
    await app.register(
      async (api) => {
        await api.register(keyward, { guard: { schemes: header, verify: keys } });
        api.get('/x', who);
      },
      { prefix: '/api' },
    );
    await app.register(async (sibling) => {
      sibling.get('/sibling', who);
    });
    expect((await app.inject('/public')).statusCode).toBe(200);
    expect((await app.inject('/sibling')).statusCode).toBe(200);
    expect((await app.inject('/api/x')).statusCode).toBe(401);
    expect((await app.inject({ url: '/api/x', headers: key('reader-key') })).json()).toEqual({
      id: 'reader',
    });
  });

  it('verifies once when registered at two levels with guards of one family', async () => {
    const verify = vi.fn(keys);
    const guard = createGuard({ schemes: header, verify });
    const app = fastify();
    await app.register(keyward, { guard });
    await app.register(async (child) => {
      await child.register(keyward, { guard: guard.require('admin') });
      child.get('/admin', who);
    });
    expect((await app.inject({ url: '/admin', headers: key('reader-key') })).statusCode).toBe(403);
    expect(verify).toHaveBeenCalledTimes(1);
    verify.mockClear();
    expect((await app.inject({ url: '/admin', headers: key('admin-key') })).json()).toEqual({ id: 'admin' });
    expect(verify).toHaveBeenCalledTimes(1);
  });

  it('guards the HEAD route Fastify adds for a GET', async () => {
    const app = fastify();
    await app.register(keyward, { guard: { schemes: header, verify: keys } });
    app.get('/x', who);
    expect((await app.inject({ method: 'HEAD', url: '/x' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'HEAD', url: '/x', headers: key('reader-key') })).statusCode).toBe(
      200,
    );
  });

  it('fails the registration, not the process, on bad plugin options', async () => {
    const app = fastify();
    await expect(app.register(keyward, {} as never)).rejects.toThrow(KeywardConfigError);
    const other = fastify();
    await expect(
      other.register(keyward, { guard: { schemes: header, verify: keys }, global: 'yes' as never }),
    ).rejects.toThrow(/global must be a boolean/);
  });

  it('refuses a config.keyward it does not understand at startup', async () => {
    const app = fastify();
    await app.register(keyward, { guard: { schemes: header, verify: keys } });
    expect(() => app.get('/x', { config: { keyward: 'yes' as unknown as boolean } }, who)).toThrow(
      KeywardConfigError,
    );
  });
});

describe('Fastify: how failures are answered', () => {
  it('sends the JSON failure from onRequest: no error handler, no onError hook, no body parsing', async () => {
    const onError = vi.fn();
    const parser = vi.fn((_req: unknown, body: string, done: (e: null, v: unknown) => void) =>
      done(null, body),
    );
    const app = fastify();
    app.addHook('onError', async () => onError());
    app.setErrorHandler((_error, _request, reply) => {
      onError();
      reply.code(500).send('<html>error</html>');
    });
    app.addContentTypeParser('application/json', { parseAs: 'string' }, parser);
    await app.register(keyward, { guard: { schemes: header, verify: keys } });
    app.post('/x', who);

    const res = await app.inject({
      method: 'POST',
      url: '/x',
      payload: '{}',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.headers['www-authenticate']).toBe('APIKey');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toBe('{"detail":"Not authenticated"}');
    expect(onError).not.toHaveBeenCalled();
    expect(parser).not.toHaveBeenCalled();
  });

  it('keeps the hook sync: no promise, done called before it returns', async () => {
    const app = fastify();
    const addHook = vi.spyOn(app, 'addHook');
    await app.register(keyward, { guard: { schemes: header, verify: keys } });
    const call = addHook.mock.calls.find(([name]) => name === 'onRequest');
    const hook = call?.[1] as onRequestHookHandler;
    const request = {
      is404: false,
      routeOptions: { config: {} },
      raw: { headers: { 'x-api-key': 'reader-key' }, url: '/x' },
    } as unknown as Parameters<onRequestHookHandler>[0];
    const done = vi.fn();
    const reply = { hasHeader: () => false, header: vi.fn() };
    const returned = hook.call(app, request, reply as unknown as Parameters<onRequestHookHandler>[1], done);
    expect(returned).toBeUndefined();
    expect(done).toHaveBeenCalledTimes(1);
    expect(request.principal).toEqual({ id: 'reader', scopes: ['read'] });
    expect(reply.header).toHaveBeenCalledWith('cache-control', 'no-store');
  });

  it('adds the Deprecation header when the key came through a deprecated scheme', async () => {
    const app = fastify();
    const query = apiKeyQuery({ name: 'api_key', deprecated: new Date('2026-01-01T00:00:00Z') });
    await app.register(keyward, { guard: { schemes: [header, query], verify: keys } });
    app.get('/x', who);
    expect((await app.inject('/x?api_key=reader-key')).headers.deprecation).toBe('@1767225600');
    expect((await app.inject({ url: '/x', headers: key('reader-key') })).headers.deprecation).toBeUndefined();
  });
});

describe('Fastify: @fastify/swagger gets security from the guard declaration', () => {
  async function documented(order: 'swagger-first' | 'keyward-first') {
    const guard = createGuard({ schemes: [header, apiKeyCookie({ name: 'session' })], verify: keys });
    const optional = createGuard({
      schemes: apiKeyHeader({ name: 'X-API-Key', autoError: false }),
      verify: keys,
    });
    const app = fastify();
    const registerSwagger = () =>
      app.register(swagger, {
        openapi: {
          info: { title: 'Shop', version: '1.0.0' },
          components: { securitySchemes: { Bearer: { type: 'http', scheme: 'bearer' } } },
        },
        transformObject: withSecurity,
      });
    if (order === 'swagger-first') await registerSwagger();
    await app.register(keyward, { guard });
    if (order === 'keyward-first') await registerSwagger();
    const shared = { summary: 'shared schema object' };
    app.get('/health', { config: { keyward: false }, schema: shared }, async () => ({ status: 'ok' }));
    app.get('/items', { schema: shared }, who);
    app.post('/items', { config: { keyward: { scopes: ['write'] } } }, who);
    app.get('/maybe', { config: { keyward: optional } }, who);
    app.get('/items/:id', who);
    await app.ready();
    return { app, shared };
  }

  it.each(['swagger-first', 'keyward-first'] as const)('documents each operation (%s)', async (order) => {
    const { app, shared } = await documented(order);
    const doc = app.swagger() as {
      paths: Record<string, Record<string, { security?: unknown; summary?: string }>>;
      components: { securitySchemes: Record<string, unknown> };
    };
    expect(doc.components.securitySchemes).toEqual({
      Bearer: { type: 'http', scheme: 'bearer' },
      APIKeyHeader: { type: 'apiKey', name: 'X-API-Key', in: 'header' },
      APIKeyCookie: { type: 'apiKey', name: 'session', in: 'cookie' },
    });
    expect(doc.paths['/health']?.get?.security).toBeUndefined();
    expect(doc.paths['/items']?.get?.security).toEqual([{ APIKeyHeader: [] }, { APIKeyCookie: [] }]);
    expect(doc.paths['/items']?.get?.summary).toBe('shared schema object');
    expect(doc.paths['/items']?.post?.security).toEqual([
      { APIKeyHeader: ['write'] },
      { APIKeyCookie: ['write'] },
    ]);
    expect(doc.paths['/maybe']?.get?.security).toEqual([{ APIKeyHeader: [] }, {}]);
    expect(doc.paths['/items/{id}']?.get?.security).toEqual([{ APIKeyHeader: [] }, { APIKeyCookie: [] }]);
    expect(JSON.stringify(doc)).not.toContain('x-keyward');
    // The schema object shared by a public and a guarded route was not changed.
    expect(Object.keys(shared)).toEqual(['summary']);
    // Calling again returns the same finished document.
    expect(app.swagger()).toBe(doc);
  });

  it('puts the same security in the YAML document', async () => {
    const { app } = await documented('swagger-first');
    const yaml = app.swagger({ yaml: true }) as unknown as string;
    expect(yaml).toContain('APIKeyCookie:');
    expect(yaml).toMatch(/security:\n\s+- APIKeyHeader:/);
    expect(yaml).not.toContain('x-keyward');
  });

  it('fails at startup when two different schemes share one schemeName', async () => {
    const app = fastify();
    await app.register(keyward, { guard: { schemes: header, verify: keys } });
    app.get('/a', who);
    const other = createGuard({ schemes: apiKeyHeader({ name: 'X-Other-Key' }), verify: keys });
    await app.register(async (child) => {
      await child.register(keyward, { guard: other });
      expect(() => child.get('/b', who)).toThrow(
        /schemeName "APIKeyHeader" is used by two different schemes/,
      );
    });
    await app.ready();
  });
});
