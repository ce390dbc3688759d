import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { createGuard } from '../core/guard.js';
import { apiKeyCookie, apiKeyHeader, apiKeyQuery } from '../core/schemes.js';
import { staticKeys } from '../core/static-keys.js';
import { apiKeyAuth, authSchemeOf } from './middleware.js';

const since = new Date('2025-01-01T00:00:00Z');
const KEY = 'kw_deprecation_test_key_0123456789';

function app() {
  const guard = createGuard({
    schemes: [apiKeyHeader({ name: 'X-API-Key' }), apiKeyQuery({ name: 'x-api-key', deprecated: since })],
    verify: staticKeys([{ key: KEY, id: 'k1' }]),
  });
  const hono = new Hono();
  hono.get('/json', apiKeyAuth(guard), (c) => c.json({ in: authSchemeOf(c)?.in ?? null }));
  // A handler answering with its own Response object must keep the header too.
  hono.get('/raw', apiKeyAuth(guard), () => new Response('ok'));
  return hono;
}

describe('deprecated schemes (RFC 9745 Deprecation header)', () => {
  it('formats the date once, as an sf-date in unix seconds', () => {
    expect(apiKeyQuery({ name: 'k', deprecated: since }).deprecation).toBe('@1735689600');
    expect(apiKeyCookie({ name: 'k', deprecated: new Date(1500) }).deprecation).toBe('@1');
    expect(apiKeyQuery({ name: 'k' }).deprecation).toBeUndefined();
  });

  it('rejects anything but a valid Date at creation', () => {
    expect(() => apiKeyQuery({ name: 'k', deprecated: new Date('nope') })).toThrow(/valid Date/);
    expect(() => apiKeyQuery({ name: 'k', deprecated: true as unknown as Date })).toThrow(/valid Date/);
  });

  it('adds the header when the deprecated scheme carried the key, and only then', async () => {
    const hono = app();
    for (const path of ['/json', '/raw']) {
      const viaQuery = await hono.request(`${path}?x-api-key=${KEY}`);
      expect(viaQuery.status).toBe(200);
      expect(viaQuery.headers.get('deprecation')).toBe('@1735689600');

      const viaHeader = await hono.request(path, { headers: { 'x-api-key': KEY } });
      expect(viaHeader.status).toBe(200);
      expect(viaHeader.headers.get('deprecation')).toBeNull();
    }
    const denied = await hono.request('/json?x-api-key=wrong-key-value');
    expect(denied.status).toBe(401);
    expect(denied.headers.get('deprecation')).toBeNull();
  });

  it('tells later middleware and handlers which scheme carried the key', async () => {
    const hono = app();
    expect(await (await hono.request(`/json?x-api-key=${KEY}`)).json()).toEqual({ in: 'query' });
    expect(await (await hono.request('/json', { headers: { 'x-api-key': KEY } })).json()).toEqual({
      in: 'header',
    });
  });
});
