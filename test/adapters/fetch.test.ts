import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiKeyHeader, apiKeyQuery, createGuard, type Guard } from 'keyward';
import { authenticateRequest, withApiKey } from 'keyward/fetch';
import { describe, expect, it } from 'vitest';

// staticKeys hashes with node:crypto, so the portable tests use a plain verifier.
const verify = (key: string) => (key === 'good-key' ? { id: 'good', scopes: ['read'] } : null);
const header = apiKeyHeader({ name: 'X-API-Key' });
const req = (url = 'http://x/', headers: Record<string, string> = {}) => new Request(url, { headers });

describe('fetch: withApiKey', () => {
  it('runs the handler with the principal and passes extra arguments through (env, ctx)', async () => {
    const handler = withApiKey(
      { schemes: header, verify },
      (_request, principal, env: { n: number }, ctx: string) => Response.json({ principal, env, ctx }),
    );
    const res = handler(req('http://x/', { 'x-api-key': 'good-key' }), { n: 1 }, 'ctx');
    // A sync verifier adds no promise on the way.
    expect(res).toBeInstanceOf(Response);
    expect(await (res as Response).json()).toEqual({
      principal: { id: 'good', scopes: ['read'] },
      env: { n: 1 },
      ctx: 'ctx',
    });
  });

  it('answers the guard failure without calling the handler', async () => {
    let called = false;
    const handler = withApiKey({ schemes: header, verify }, () => {
      called = true;
      return new Response('secret');
    });
    const res = handler(req('http://x/', { 'x-api-key': 'bad' })) as Response;
    expect(called).toBe(false);
    expect(res.status).toBe(401);
    expect(Object.fromEntries(res.headers)).toEqual({
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'www-authenticate': 'APIKey',
    });
    expect(await res.text()).toBe('{"detail":"Invalid API Key"}');
  });

  it('waits for an async verifier', async () => {
    const handler = withApiKey({ schemes: header, verify: async (k: string) => verify(k) }, (_r, p) =>
      Response.json(p),
    );
    const pending = handler(req('http://x/', { 'x-api-key': 'good-key' }));
    expect(pending).toBeInstanceOf(Promise);
    expect((await pending).status).toBe(200);
  });

  it('adds Deprecation to the response, also to one with immutable headers', async () => {
    const query = apiKeyQuery({ name: 'key', deprecated: new Date('2026-01-01T00:00:00Z') });
    const handler = withApiKey({ schemes: [header, query], verify }, () =>
      Response.redirect('http://x/elsewhere', 302),
    );
    const res = handler(req('http://x/?key=good-key')) as Response;
    expect(res.status).toBe(302);
    expect(res.headers.get('deprecation')).toBe('@1767225600');
    expect(res.headers.get('location')).toBe('http://x/elsewhere');
  });

  it('adds Cache-Control: no-store unless the handler set its own, also to immutable and async responses', async () => {
    const good = () => req('http://x/', { 'x-api-key': 'good-key' });
    const plain = withApiKey({ schemes: header, verify }, () => new Response('data'))(good()) as Response;
    expect(plain.headers.get('cache-control')).toBe('no-store');
    const own = withApiKey(
      { schemes: header, verify },
      () => new Response('data', { headers: { 'Cache-Control': 'public, max-age=60' } }),
    )(good()) as Response;
    expect(own.headers.get('cache-control')).toBe('public, max-age=60');
    const redirect = withApiKey({ schemes: header, verify }, () => Response.redirect('http://x/e', 302))(
      good(),
    ) as Response;
    expect([redirect.status, redirect.headers.get('cache-control')]).toEqual([302, 'no-store']);
    const later = await withApiKey({ schemes: header, verify }, async () => new Response('data'))(good());
    expect(later.headers.get('cache-control')).toBe('no-store');
    const off = withApiKey(
      { schemes: header, verify, cacheControl: false },
      () => new Response('data'),
    )(good()) as Response;
    expect(off.headers.has('cache-control')).toBe(false);
  });

  it('fails closed with a JSON 503 when authentication itself throws', async () => {
    const broken = {
      ...createGuard({ schemes: header, verify }),
      authenticate: () => {
        throw new ReferenceError('process is not defined');
      },
    } as Guard<unknown>;
    const res = withApiKey(broken, () => new Response('never'))(req()) as Response;
    expect([res.status, await res.text()]).toEqual([
      503,
      '{"detail":"Authentication temporarily unavailable"}',
    ]);
  });
});

describe('fetch: authenticateRequest', () => {
  it('reads headers and the query of a Request; sync for a sync verifier', () => {
    const guard = createGuard({ schemes: [header, apiKeyQuery({ name: 'k' })], verify });
    expect(authenticateRequest(guard, req('http://x/?k=good-key'))).toMatchObject({ ok: true });
    expect(authenticateRequest(guard, req('http://x/', { 'X-API-KEY': 'good-key' }))).toMatchObject({
      ok: true,
    });
    expect(authenticateRequest(guard, req('http://x/?k=a&k=b'))).toMatchObject({
      ok: false,
      failure: { code: 'duplicate' },
    });
  });
});

// What runs on Bun, Deno and workers: the files the fetch entry loads, transitively.
function importGraph(entry: string): Map<string, string> {
  const files = new Map<string, string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    const text = readFileSync(file, 'utf8');
    files.set(file, text);
    for (const [, spec] of text.matchAll(/^(?:import|export)\s(?!type\s)[^;]*?from\s'([^']+)'/gms)) {
      if (spec?.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else files.set(`package:${spec}`, '');
    }
  };
  visit(entry);
  return files;
}
const entry = fileURLToPath(new URL('../../packages/keyward/src/fetch/index.ts', import.meta.url));

describe('fetch: portability', () => {
  it('uses no node: module and no Buffer in keyward/fetch', () => {
    for (const [file, text] of importGraph(entry)) {
      if (!file.includes('/keyward/src/fetch/')) continue;
      const code = text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      expect(code).not.toMatch(/from\s+'node:|\bBuffer\b|\brequire\(|\bprocess\./);
    }
  });

  // The guard takes rate limits as an object (`rateLimits()` from the main entry), so the
  // core imports no Node-only module.
  it('loads no node: module anywhere in its import graph', () => {
    const nodeOnly = [...importGraph(entry).keys()].filter((f) => f.startsWith('package:node:'));
    expect(nodeOnly).toEqual([]);
  });
});
