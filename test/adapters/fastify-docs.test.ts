// Fastify users get the docs pages through @fastify/swagger-ui, as examples/fastify.ts
// and docs/guide/frameworks.md show: public, with keyward's schemes described and every
// guarded operation's scopes and refusals documented.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../examples/fastify.js';

const KEY = 'fastify-docs-key-0123456789abcdef';

describe('Fastify: /docs through @fastify/swagger-ui', () => {
  let app: Awaited<ReturnType<typeof createApp>>;
  beforeAll(async () => {
    app = await createApp(KEY);
    await app.ready();
  });
  afterAll(() => app.close());

  it('serves the Swagger UI page and its assets without a key, and still guards the API', async () => {
    const page = await app.inject({ method: 'GET', url: '/docs' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('swagger-ui');
    expect((await app.inject({ method: 'GET', url: '/docs/static/swagger-ui.css' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/secure-data' })).statusCode).toBe(401);
    const ok = await app.inject({ method: 'GET', url: '/secure-data', headers: { 'x-api-key': KEY } });
    expect(ok.statusCode).toBe(200);
  });

  it('shows the document with the scheme described and the refusals of each guarded operation', async () => {
    const res = await app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.components.securitySchemes.APIKeyHeader).toEqual({
      type: 'apiKey',
      name: 'X-API-Key',
      in: 'header',
      description: expect.stringMatching(/^Paste your API key here: it is sent in the `X-API-Key` header/),
    });
    const op = doc.paths['/secure-data'].get;
    expect(op.security).toEqual([{ APIKeyHeader: [] }]);
    expect(op.description).toBe(
      'Authenticated with an API key in the header `X-API-Key`. No scope is required.',
    );
    for (const status of ['401', '403', '429', '503']) {
      expect(op.responses[status].content['application/json'].schema).toEqual({
        type: 'object',
        properties: { detail: { type: 'string' } },
        required: ['detail'],
      });
    }
    // The document itself (/openapi.json) stays as keyward made it: descriptions are the page's.
    const raw = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(raw.components.securitySchemes.APIKeyHeader.description).toBeUndefined();
  });
});
