import { describe, expect, it } from 'vitest';
import { createGuard } from '../core/guard.js';
import { apiKeyHeader, httpBearer } from '../core/schemes.js';
import { buildOpenApiDocument } from './document.js';
import { openApiSecurity } from './security-parts.js';

describe('the bearer scheme in OpenAPI', () => {
  const verify = () => null;

  it('is an http bearer security scheme, as FastAPI documents HTTPBearer', () => {
    const guard = createGuard({ schemes: [httpBearer(), apiKeyHeader({ name: 'X-API-Key' })], verify });
    const parts = openApiSecurity(guard.require('keyward:keys:read'));
    expect(parts).toMatchObject({
      security: [{ HTTPBearer: ['keyward:keys:read'] }, { APIKeyHeader: ['keyward:keys:read'] }],
      securitySchemes: {
        HTTPBearer: { type: 'http', scheme: 'bearer' },
        APIKeyHeader: { type: 'apiKey', name: 'X-API-Key', in: 'header' },
      },
    });
    expect(parts.securitySchemes.HTTPBearer).toEqual({ type: 'http', scheme: 'bearer' });
    // The operation's words name the bearer header as such, not as a header called Authorization.
    expect(parts.description).toBe(
      'Authenticated with an API key in the `Authorization: Bearer` header or header `X-API-Key`. Requires scope `keyward:keys:read`.',
    );
  });

  it('carries bearerFormat and description only when given', () => {
    const scheme = httpBearer({ schemeName: 'RootKey', bearerFormat: 'keyward', description: 'A root key' });
    const doc = buildOpenApiDocument({ title: 't', version: '1' }, [
      { method: 'GET', path: '/v1/keys', guard: createGuard({ schemes: scheme, verify }) },
    ]);
    expect(doc.components?.securitySchemes).toEqual({
      RootKey: { type: 'http', scheme: 'bearer', bearerFormat: 'keyward', description: 'A root key' },
    });
    expect(doc.paths['/v1/keys']?.get?.security).toEqual([{ RootKey: [] }]);
  });

  it('fails loudly when a bearer and an API-key scheme share a name', () => {
    const a = httpBearer({ schemeName: 'Key' });
    const b = apiKeyHeader({ name: 'Authorization', schemeName: 'Key' });
    expect(() => createGuard({ schemes: [a, b], verify })).toThrow(/share the schemeName/);
  });

  it('rejects a bad option', () => {
    expect(() => httpBearer({ bearerFormat: '' })).toThrow(/bearerFormat/);
    expect(() => httpBearer({ schemeName: 'a b' })).toThrow(/schemeName/);
  });
});

describe('the bearer challenge', () => {
  it('answers 401 with Bearer alone when it is the only scheme, and keeps a custom challenge', () => {
    const guard = createGuard({ schemes: httpBearer(), verify: () => null });
    const result = guard.authenticate({ header: () => undefined, query: () => '' });
    if (result instanceof Promise || result.ok) throw new Error('expected a sync failure');
    expect(guard.respond(result.failure).headers['www-authenticate']).toBe('Bearer');
    const custom = createGuard({
      schemes: httpBearer(),
      verify: () => null,
      onFailure: (f) => ({ status: f.status, headers: { 'WWW-Authenticate': 'Custom' }, body: '' }),
    });
    expect(custom.respond(result.failure).headers['WWW-Authenticate']).toBe('Custom');
  });
});
