// The cases of FastAPI's own tests (tests/test_security_api_key_*.py), one app per case:
// each scheme with its plain, _optional (autoError false) and _description variants.
import { Hono } from 'hono';
import {
  type ApiKeyScheme,
  type ApiKeySchemeOptions,
  apiKeyCookie,
  apiKeyHeader,
  apiKeyQuery,
  createGuard,
} from 'keyward';
import { apiKeyAuth, type KeywardEnv, openApiDocument } from 'keyward/hono';
import { describe, expect, it } from 'vitest';

type Factory = (o: ApiKeySchemeOptions) => ApiKeyScheme;
const cases: [string, Factory, 'header' | 'cookie' | 'query', string][] = [
  ['APIKeyHeader', apiKeyHeader, 'header', 'APIKeyHeader'],
  ['APIKeyCookie', apiKeyCookie, 'cookie', 'APIKeyCookie'],
  ['APIKeyQuery', apiKeyQuery, 'query', 'APIKeyQuery'],
];

function app(scheme: ApiKeyScheme) {
  // FastAPI's test route returns the key as the username; the verifier accepts any key.
  const guard = createGuard({ schemes: scheme, verify: (key) => ({ username: key }) });
  const a = new Hono<KeywardEnv<{ username: string }>>();
  a.get('/users/me', apiKeyAuth(guard), (c) => {
    const user = c.var.principal;
    return user ? c.json(user) : c.json({ msg: 'Create an account first' });
  });
  return a;
}

function send(a: Hono<KeywardEnv<{ username: string }>>, where: 'header' | 'cookie' | 'query', key?: string) {
  if (key === undefined) return a.request('/users/me');
  if (where === 'header') return a.request('/users/me', { headers: { key } });
  if (where === 'cookie') return a.request('/users/me', { headers: { cookie: `key=${key}` } });
  return a.request(`/users/me?key=${key}`);
}

describe.each(cases)('%s (FastAPI parity)', (_, factory, where, defaultName) => {
  it('key sent: 200 with the route answer', async () => {
    const res = await send(app(factory({ name: 'key' })), where, 'secret');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ username: 'secret' });
  });

  it('no key: 401 Not authenticated with WWW-Authenticate: APIKey', async () => {
    const res = await send(app(factory({ name: 'key' })), where);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('APIKey');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual({ detail: 'Not authenticated' });
  });

  it('empty value counts as missing', async () => {
    const res = await send(app(factory({ name: 'key' })), where, '');
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ detail: 'Not authenticated' });
  });

  it('_optional: no key reaches the route, which decides', async () => {
    const a = app(factory({ name: 'key', autoError: false }));
    const res = await send(a, where);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ msg: 'Create an account first' });
    const withKey = await send(a, where, 'secret');
    expect(await withKey.json()).toEqual({ username: 'secret' });
  });

  it('openapi.json: exact component, operation security, no parameters', () => {
    const doc = openApiDocument(app(factory({ name: 'key' })), { title: 'FastAPI', version: '0.1.0' });
    expect(doc.components?.securitySchemes).toEqual({
      [defaultName]: { type: 'apiKey', name: 'key', in: where },
    });
    const op = doc.paths['/users/me']?.get;
    expect(op?.security).toEqual([{ [defaultName]: [] }]);
    expect(op?.parameters).toBeUndefined();
  });

  it('_optional openapi.json: {} joins the alternatives', () => {
    const doc = openApiDocument(app(factory({ name: 'key', autoError: false })), {
      title: 'T',
      version: '1',
    });
    expect(doc.paths['/users/me']?.get?.security).toEqual([{ [defaultName]: [] }, {}]);
  });

  it('_description openapi.json: description only when set', () => {
    const doc = openApiDocument(app(factory({ name: 'key', description: 'An API Key' })), {
      title: 'T',
      version: '1',
    });
    expect(doc.components?.securitySchemes).toEqual({
      [defaultName]: { type: 'apiKey', name: 'key', in: where, description: 'An API Key' },
    });
  });

  it('custom schemeName names the component', () => {
    const doc = openApiDocument(app(factory({ name: 'key', schemeName: 'Custom' })), {
      title: 'T',
      version: '1',
    });
    expect(Object.keys(doc.components?.securitySchemes ?? {})).toEqual(['Custom']);
  });
});

describe('name case rules', () => {
  it('header names match case-insensitively', async () => {
    const a = app(apiKeyHeader({ name: 'X-API-Key' }));
    for (const name of ['X-API-Key', 'x-api-key', 'X-API-KEY']) {
      const res = await a.request('/users/me', { headers: { [name]: 'secret' } });
      expect(res.status).toBe(200);
    }
  });
  it('cookie names match exactly', async () => {
    const a = app(apiKeyCookie({ name: 'X-API-KEY' }));
    expect((await a.request('/users/me', { headers: { cookie: 'X-API-KEY=secret' } })).status).toBe(200);
    expect((await a.request('/users/me', { headers: { cookie: 'x-api-key=secret' } })).status).toBe(401);
  });
  it('query names match exactly', async () => {
    const a = app(apiKeyQuery({ name: 'x-api-key' }));
    expect((await a.request('/users/me?x-api-key=secret')).status).toBe(200);
    expect((await a.request('/users/me?X-API-KEY=secret')).status).toBe(401);
  });
});
