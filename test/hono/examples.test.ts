// The seed's three examples (header, cookie, query) as shipped in examples/.
import { describe, expect, it } from 'vitest';
import { createApp as cookieApp } from '../../examples/hono-cookie.js';
import { createApp as headerApp } from '../../examples/hono-header.js';
import { createApp as queryApp } from '../../examples/hono-query.js';

const KEY = 'mysecretapikey';
const examples = [
  {
    name: 'header',
    app: headerApp(KEY),
    send: (k: string) => ({ headers: { 'X-API-Key': k } }),
    path: '/secure-data',
    scheme: { APIKeyHeader: { type: 'apiKey', name: 'X-API-Key', in: 'header' } },
  },
  {
    name: 'cookie',
    app: cookieApp(KEY),
    send: (k: string) => ({ headers: { Cookie: `X-API-KEY=${k}` } }),
    path: '/secure-data',
    scheme: { APIKeyCookie: { type: 'apiKey', name: 'X-API-KEY', in: 'cookie' } },
  },
  {
    name: 'query',
    app: queryApp(KEY),
    send: () => ({}),
    path: '/secure-data',
    scheme: { APIKeyQuery: { type: 'apiKey', name: 'x-api-key', in: 'query' } },
  },
] as const;

const url = (name: string, key?: string) =>
  name === 'query' && key !== undefined
    ? `/secure-data?x-api-key=${encodeURIComponent(key)}`
    : '/secure-data';

describe.each(examples)('seed example: $name', ({ name, app, send, scheme }) => {
  it('valid key: 200 and the secure data', async () => {
    const res = await app.request(url(name, KEY), send(KEY));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ message: 'You have access to secure data' });
  });
  it('wrong key: 401 Invalid API Key', async () => {
    const res = await app.request(url(name, 'wrong'), send('wrong'));
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('APIKey');
    expect(await res.json()).toEqual({ detail: 'Invalid API Key' });
  });
  it('missing key: 401 Not authenticated', async () => {
    const res = await app.request('/secure-data');
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ detail: 'Not authenticated' });
  });
  it('openapi.json: the scheme and the lock on /secure-data', async () => {
    const doc = await (await app.request('/openapi.json')).json();
    expect(doc.openapi).toBe('3.1.0');
    // Served by mountDocs: FastAPI's exact scheme plus the docs page's default description.
    expect(doc.components.securitySchemes).toMatchObject(scheme);
    const [only] = Object.values(doc.components.securitySchemes) as { description?: string }[];
    expect(only?.description).toMatch(/^(Paste your API key here|Cannot be tried from this page)/);
    expect(doc.paths['/secure-data'].get.security).toEqual([{ [Object.keys(scheme)[0]!]: [] }]);
    expect(doc.paths['/secure-data'].get.parameters).toBeUndefined();
  });
});

it('the cookie example protects the whole app but its public route and docs', async () => {
  const app = cookieApp(KEY);
  expect((await app.request('/health')).status).toBe(200);
  expect((await app.request('/docs')).status).toBe(200);
  expect((await app.request('/nope')).status).toBe(401);
});
