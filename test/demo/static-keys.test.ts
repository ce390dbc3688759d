// `keyward serve` with static keys from KEYWARD_API_KEYS: the seed's API over real HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServe } from '../helpers/spawn.js';

const KEY = 'demo-static-key-0123456789abcdefghijk';
let server: Awaited<ReturnType<typeof startServe>>;

beforeAll(async () => {
  server = await startServe([], { KEYWARD_API_KEYS: KEY });
});
afterAll(() => server?.stop());

describe('keyward serve (KEYWARD_API_KEYS)', () => {
  it('serves /secure-data with the key in header, cookie or query, with no-store', async () => {
    const cases: { path: string; headers: Record<string, string> }[] = [
      { path: '/secure-data', headers: { 'X-API-Key': KEY } },
      { path: '/secure-data', headers: { Cookie: `X-API-KEY=${KEY}` } },
      { path: `/secure-data?x-api-key=${KEY}`, headers: {} },
    ];
    for (const init of cases) {
      const res = await fetch(server.url + init.path, { headers: init.headers });
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(await res.json()).toEqual({ message: 'You have access to secure data' });
    }
  });

  it('answers missing, wrong and duplicated keys as documented', async () => {
    const missing = await fetch(`${server.url}/secure-data`);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('APIKey');
    expect(await missing.json()).toEqual({ detail: 'Not authenticated' });

    const wrong = await fetch(`${server.url}/secure-data`, { headers: { 'X-API-Key': 'wrong-key' } });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ detail: 'Invalid API Key' });

    const twice = await fetch(`${server.url}/secure-data?x-api-key=${KEY}&x-api-key=${KEY}`);
    expect(twice.status).toBe(400);
    expect(await twice.json()).toEqual({ detail: 'API key sent more than once' });
  });

  it('keeps /health, /openapi.json and /docs public, and answers unknown paths with JSON 404', async () => {
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    const doc = await (await fetch(`${server.url}/openapi.json`)).json();
    expect(doc.paths['/secure-data'].get.security).toEqual([
      { APIKeyHeader: [] },
      { APIKeyCookie: [] },
      { APIKeyQuery: [] },
    ]);
    // Header first (the Authorize dialog lists it first), then query, then cookie, each
    // with what to paste and where; the cookie says it cannot be tried from the page.
    expect(Object.keys(doc.components.securitySchemes)).toEqual([
      'APIKeyHeader',
      'APIKeyQuery',
      'APIKeyCookie',
    ]);
    expect(doc.components.securitySchemes).toMatchObject({
      APIKeyHeader: {
        type: 'apiKey',
        name: 'X-API-Key',
        in: 'header',
        description: expect.stringMatching(/`X-API-Key` header/),
      },
      APIKeyCookie: {
        type: 'apiKey',
        name: 'X-API-KEY',
        in: 'cookie',
        description: expect.stringMatching(
          /^Cannot be tried from this page[\s\S]*curl --cookie 'X-API-KEY=YOUR_KEY'/,
        ),
      },
      APIKeyQuery: {
        type: 'apiKey',
        name: 'x-api-key',
        in: 'query',
        description: expect.stringMatching(/\?x-api-key=/),
      },
    });
    const admin = doc.paths['/admin-data'].get;
    expect(admin.description).toMatch(/Requires scope `admin`\./);
    expect(Object.keys(admin.responses)).toEqual(['200', '401', '403', '429', '503']);
    expect(admin.responses['401'].content['application/json'].examples).toEqual({
      missing: { value: { detail: 'Not authenticated' } },
      invalid: { value: { detail: 'Invalid API Key' } },
    });
    expect(Object.keys(doc.paths['/secure-data'].get.responses)).toEqual(['200', '401', '403', '429', '503']);
    expect((await fetch(`${server.url}/redoc`)).status).toBe(200);
    expect((await fetch(`${server.url}/redoc/redoc.standalone.js`)).status).toBe(200);
    const docs = await fetch(`${server.url}/docs`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('swagger-ui-bundle.js');
    const nope = await fetch(`${server.url}/nope`);
    expect(nope.status).toBe(404);
    expect(await nope.json()).toEqual({ detail: 'Not Found' });
  });

  it('logs one JSON line per request with the key id and where the key came from, never the key', async () => {
    await fetch(`${server.url}/secure-data?x-api-key=${KEY}`);
    await server.cli.waitFor(/"keyIn":"query"/);
    const lines = server.cli
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    expect(lines).toContainEqual(
      expect.objectContaining({ path: '/secure-data', status: 200, keyId: 'static-1', keyIn: 'header' }),
    );
    expect(lines).toContainEqual(expect.objectContaining({ path: '/secure-data', status: 401 }));
    // A key in the URL is logged as a warning, with the query string left out.
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 40, keyIn: 'query', path: '/secure-data' }),
    );
  });

  it('never prints the configured key', () => {
    expect(server.cli.stdout() + server.cli.stderr()).not.toContain(KEY);
  });
});
