// node:http and fetch users get the same docs pages (Swagger UI, ReDoc, the document with
// the docs defaults) through docsHandler and docsFetchHandler.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { docsFetchHandler } from '@keyward/docs/fetch';
import { docsHandler } from '@keyward/docs/node';
import { apiKeyHeader, apiKeyQuery, buildOpenApiDocument, createGuard, staticKeys } from 'keyward';
import { describe, expect, it } from 'vitest';

const guard = createGuard({
  schemes: [apiKeyQuery({ name: 'api_key' }), apiKeyHeader({ name: 'X-API-Key' })],
  verify: staticKeys('docs-fetch-key-0123456789abcdef'),
});
const info = { title: 'Fetch API', version: '1.0.0' };
const document = () =>
  buildOpenApiDocument(info, [{ method: 'GET', path: '/items', guard: guard.require('read') }]);

describe('docsFetchHandler', () => {
  const docs = docsFetchHandler({ info, document });
  const get = (path: string, method = 'GET') => docs(new Request(`http://localhost${path}`, { method }));

  it('answers the document with the docs defaults: header first, described, scopes and refusals', async () => {
    const res = get('/openapi.json')!;
    expect(res.status).toBe(200);
    const doc = await res.json();
    expect(Object.keys(doc.components.securitySchemes)).toEqual(['APIKeyHeader', 'APIKeyQuery']);
    expect(doc.components.securitySchemes.APIKeyQuery.description).toMatch(
      /\?api_key=\.\.\..*prefer the header/,
    );
    const op = doc.paths['/items'].get;
    expect(op.description).toBe(
      'Authenticated with an API key in the query parameter `api_key` or header `X-API-Key`. Requires scope `read`.',
    );
    expect(Object.keys(op.responses)).toEqual(['200', '401', '403', '429', '503']);
  });

  it('answers the Swagger UI and ReDoc pages and their assets, and nothing else', async () => {
    const page = get('/docs')!;
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    expect(await page.text()).toContain('swagger-ui-bundle.js');
    expect(get('/docs/swagger-ui-bundle.js')!.status).toBe(200);
    const redoc = get('/redoc')!;
    expect(redoc.status).toBe(200);
    expect(await redoc.text()).toContain('/redoc/redoc.standalone.js');
    const bundle = get('/redoc/redoc.standalone.js')!;
    expect((await bundle.arrayBuffer()).byteLength).toBeGreaterThan(500_000);
    expect(await get('/redoc/redoc-init.js')!.text()).toContain('fetch("/openapi.json")');
    expect(get('/items')).toBeUndefined();
    expect(get('/docs', 'POST')).toBeUndefined();
    expect(await get('/docs', 'HEAD')!.text()).toBe('');
  });

  it('leaves ReDoc out when asked', () => {
    const without = docsFetchHandler({ info, document, redocPath: false });
    expect(without(new Request('http://localhost/redoc'))).toBeUndefined();
  });
});

describe('docsHandler (node:http)', () => {
  it('serves /redoc beside /docs', async () => {
    const docs = docsHandler({ info, document });
    const server = createServer((req, res) => {
      if (docs(req, res)) return;
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      expect((await fetch(`${url}/redoc`)).status).toBe(200);
      expect((await fetch(`${url}/docs`)).status).toBe(200);
      expect((await fetch(`${url}/nope`)).status).toBe(404);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
