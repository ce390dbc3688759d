import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { apiKeyHeader, apiKeyQuery, createGuard, staticKeys } from 'keyward';
import { apiKeyAuth, publicRoute, withSecurity } from 'keyward/hono';
import { describe, expect, it } from 'vitest';

const guard = createGuard({
  schemes: [apiKeyHeader({ name: 'X-API-Key' }), apiKeyQuery({ name: 'api_key' })],
  verify: staticKeys([{ key: 'kw_zod_key_0123456789', id: 'zod', scopes: ['read', 'admin'] }]),
});
const Item = z.object({ id: z.string(), name: z.string() }).openapi('Item');

function app() {
  const a = new OpenAPIHono();
  a.get('/health', publicRoute(), (c) => c.json({ status: 'ok' }));
  a.use('/items/*', apiKeyAuth(guard));
  a.openapi(
    createRoute({
      method: 'get',
      path: '/items/{id}',
      request: { params: z.object({ id: z.string() }) },
      responses: { 200: { description: 'One item', content: { 'application/json': { schema: Item } } } },
    }),
    (c) => c.json({ id: c.req.valid('param').id, name: 'thing' }, 200),
  );
  a.openapi(
    createRoute({
      method: 'delete',
      path: '/admin/items/{id}',
      middleware: [apiKeyAuth(guard.require('admin'))] as const,
      request: { params: z.object({ id: z.string() }) },
      responses: { 204: { description: 'Deleted' } },
    }),
    (c) => c.body(null, 204),
  );
  return a;
}

describe('Hono with @hono/zod-openapi: withSecurity completes its document', () => {
  it('adds security and securitySchemes, keeping what zod-openapi generated', () => {
    const a = app();
    const generated = a.getOpenAPI31Document({ openapi: '3.1.0', info: { title: 'Zod', version: '1.0.0' } });
    const doc = withSecurity(a, generated);
    expect(doc.components?.securitySchemes).toEqual({
      APIKeyHeader: { type: 'apiKey', name: 'X-API-Key', in: 'header' },
      APIKeyQuery: { type: 'apiKey', name: 'api_key', in: 'query' },
    });
    expect(doc.components?.schemas).toHaveProperty('Item');
    const get = doc.paths?.['/items/{id}']?.get;
    expect(get?.security).toEqual([{ APIKeyHeader: [] }, { APIKeyQuery: [] }]);
    expect(get && 'parameters' in get && get.parameters).toEqual([
      expect.objectContaining({ name: 'id', in: 'path' }),
    ]);
    expect(doc.paths?.['/admin/items/{id}']?.delete?.security).toEqual([
      { APIKeyHeader: ['admin'] },
      { APIKeyQuery: ['admin'] },
    ]);
  });

  it('enforces what it documents', async () => {
    const a = app();
    expect((await a.request('/items/1')).status).toBe(401);
    const ok = await a.request('/items/1', { headers: { 'x-api-key': 'kw_zod_key_0123456789' } });
    expect(await ok.json()).toEqual({ id: '1', name: 'thing' });
    expect((await a.request('/admin/items/1', { method: 'DELETE' })).status).toBe(401);
    expect((await a.request('/health')).status).toBe(200);
  });
});
