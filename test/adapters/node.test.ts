import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { apiKeyHeader, apiKeyQuery, createGuard, staticKeys } from 'keyward';
import {
  apiKeyAuth,
  authenticateRequest,
  nodeKeySource,
  openApiSecurity,
  principalOf,
  setAuthHeaders,
  writeFailure,
} from 'keyward/node';
import { afterEach, describe, expect, it, vi } from 'vitest';

const header = apiKeyHeader({ name: 'X-API-Key' });
const keys = staticKeys([
  { key: 'reader-key', id: 'reader', scopes: ['read'] },
  { key: 'admin-key', id: 'admin', scopes: ['read', 'admin'] },
]);
const request = (headers: Record<string, string>, url = '/') => ({ headers, url }) as IncomingMessage;

const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

async function serve(listener: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(listener);
  closers.push(() => {
    server.closeAllConnections();
    server.close();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('node: authenticateRequest', () => {
  it('returns a result, not a promise, when the verifier is sync', () => {
    const guard = createGuard({ schemes: header, verify: keys });
    const result = authenticateRequest(guard, request({ 'x-api-key': 'reader-key' }));
    expect(result).not.toBeInstanceOf(Promise);
    expect(result).toMatchObject({ ok: true, principal: { id: 'reader' } });
    const failed = authenticateRequest(guard, request({}, '/?x-api-key=reader-key'));
    expect(failed).toMatchObject({ ok: false, failure: { code: 'missing', status: 401 } });
  });

  it('reads the query from req.url', () => {
    const guard = createGuard({ schemes: apiKeyQuery({ name: 'key' }), verify: keys });
    expect(authenticateRequest(guard, request({}, '/x?a=1&key=admin-key'))).toMatchObject({ ok: true });
  });

  it('returns a promise for an async verifier', async () => {
    const guard = createGuard({ schemes: header, verify: async (k) => (k === 'a' ? { id: 'a' } : null) });
    const pending = authenticateRequest(guard, request({ 'x-api-key': 'a' }));
    expect(pending).toBeInstanceOf(Promise);
    expect(await pending).toMatchObject({ ok: true, principal: { id: 'a' } });
  });

  it('remembers the outcome on the request: principalOf, and one verification per family', () => {
    const verify = vi.fn(keys);
    const guard = createGuard({ schemes: header, verify });
    const req = request({ 'x-api-key': 'reader-key' });
    expect(principalOf(req)).toBeUndefined();
    authenticateRequest(guard, req);
    expect(authenticateRequest(guard.require('admin'), req)).toMatchObject({
      ok: false,
      failure: { code: 'insufficient_scope' },
    });
    expect(verify).toHaveBeenCalledTimes(1);
    expect(principalOf(req)).toEqual({ id: 'reader', scopes: ['read'] });
  });

  it('gives the socket address to per-address limits', () => {
    const req = {
      headers: {},
      url: '/',
      socket: { remoteAddress: '192.0.2.7' },
    } as unknown as IncomingMessage;
    expect(nodeKeySource(req).peer?.()).toBe('192.0.2.7');
  });
});

describe('node: middleware and writeFailure on a real server', () => {
  it('calls next for a valid key and writes the JSON failure otherwise', async () => {
    const auth = apiKeyAuth({ schemes: header, verify: keys });
    const url = await serve((req, res) =>
      auth(req, res, () => res.end(JSON.stringify(principalOf<{ id: string }>(req)?.id))),
    );
    expect(await (await fetch(url, { headers: { 'x-api-key': 'admin-key' } })).text()).toBe('"admin"');
    const res = await fetch(url);
    expect(res.status).toBe(401);
    expect(Object.fromEntries(res.headers)).toMatchObject({
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'www-authenticate': 'APIKey',
      'content-length': '30',
    });
    expect(await res.text()).toBe('{"detail":"Not authenticated"}');
  });

  it('keeps headers set before the failure, and cuts a response whose headers already went out', async () => {
    const guard = createGuard({ schemes: header, verify: keys });
    const url = await serve((req, res) => {
      const result = authenticateRequest(guard, req);
      if (result instanceof Promise || result.ok) return res.end('unexpected');
      res.setHeader('x-request-id', 'r1');
      if (req.url === '/late') res.flushHeaders();
      writeFailure(res, guard.respond(result.failure));
    });
    const res = await fetch(url, { headers: { 'x-api-key': 'nope' } });
    expect([res.status, res.headers.get('x-request-id')]).toEqual([401, 'r1']);
    await expect(fetch(`${url}/late`).then((r) => r.text())).rejects.toThrow();
  });

  it('sets Deprecation (and any rate-limit headers) on success', async () => {
    const deprecated = apiKeyQuery({ name: 'key', deprecated: new Date('2026-01-01T00:00:00Z') });
    const guard = createGuard({ schemes: [header, deprecated], verify: keys });
    const url = await serve((req, res) => {
      const result = authenticateRequest(guard, req);
      if (!(result instanceof Promise) && result.ok) setAuthHeaders(res, result);
      res.end();
    });
    expect((await fetch(`${url}/?key=reader-key`)).headers.get('deprecation')).toBe('@1767225600');
    expect(
      (await fetch(url, { headers: { 'x-api-key': 'reader-key' } })).headers.get('deprecation'),
    ).toBeNull();
  });
});

describe('node: OpenAPI parts', () => {
  it('gives the security requirement and the schemes to merge', () => {
    const optional = createGuard({
      schemes: [apiKeyHeader({ name: 'X-API-Key', autoError: false, description: 'Your key' })],
      verify: keys,
    });
    const schemes = {
      APIKeyHeader: { type: 'apiKey', name: 'X-API-Key', in: 'header', description: 'Your key' },
    };
    expect(openApiSecurity(optional)).toMatchObject({
      security: [{ APIKeyHeader: [] }, {}],
      securitySchemes: schemes,
      description:
        'Optionally authenticated with an API key in the header `X-API-Key`. No scope is required.',
    });
    expect(Object.keys(openApiSecurity(optional).responses)).toEqual(['401', '403', '429', '503']);
    // Any key may be restricted: the 403 without scopes is the restricted one alone.
    expect(openApiSecurity(optional).responses['403']).toMatchObject({
      content: {
        'application/json': { examples: { restricted: { value: { detail: 'API key not allowed here' } } } },
      },
    });
    expect(
      Object.keys(
        (openApiSecurity(optional).responses['403'] as { content: Record<string, { examples: object }> })
          .content['application/json']!.examples,
      ),
    ).toEqual(['restricted']);
    // Requiring a scope makes the key mandatory: no `{}` alternative.
    const scoped = openApiSecurity(optional.require('read'));
    expect(scoped).toMatchObject({
      security: [{ APIKeyHeader: ['read'] }],
      securitySchemes: schemes,
      description: 'Authenticated with an API key in the header `X-API-Key`. Requires scope `read`.',
    });
    expect(Object.keys(scoped.responses)).toEqual(['401', '403', '429', '503']);
    expect(scoped.responses['403']).toMatchObject({
      content: {
        'application/json': { examples: { insufficient_scope: { value: { detail: 'Insufficient scope' } } } },
      },
    });
  });
});
