import { describe, expect, it, vi } from 'vitest';
import { memoryRateLimiter } from '../limits/limiter.js';
import { rateLimits } from '../limits/rate-limits.js';
import { compileRestrictions } from '../restrictions/restrictions.js';
import { type AuthResult, createGuard } from './guard.js';
import type { KeySource } from './request.js';
import { apiKeyHeader } from './schemes.js';
import { spendable } from './verdict.js';

const header = apiKeyHeader({ name: 'X-API-Key' });

function req(peer: string, extra: Record<string, string> = {}, path = '/reports/1'): KeySource {
  const headers: Record<string, string> = { 'x-api-key': 'k', ...extra };
  return {
    header: (n) => headers[n],
    query: () => '',
    peer: () => peer,
    method: () => 'GET',
    path: () => path,
  };
}
const settled = async <P>(r: AuthResult<P> | Promise<AuthResult<P>>) => await r;
const code = (r: AuthResult<unknown>) => (r.ok ? 'ok' : r.failure.code);

const restricted = {
  id: 'key_r',
  scopes: ['read'],
  rateLimit: { limit: 2, windowSeconds: 60 },
  restrictions: compileRestrictions({ ipAllow: ['203.0.113.0/24'] }, { keyId: 'key_r' }),
};

describe('the guard with restricted principals', () => {
  it('refuses a request outside with 403 restricted, the key id for observers', () => {
    const observe = vi.fn();
    const guard = createGuard({ schemes: header, verify: () => restricted, observe });
    const inside = guard.authenticate(req('203.0.113.9'));
    expect(code(inside as AuthResult<unknown>)).toBe('ok');
    const outside = guard.authenticate(req('198.51.100.1')) as AuthResult<unknown>;
    expect(outside.ok).toBe(false);
    if (outside.ok) return;
    expect(outside.failure).toMatchObject({ code: 'restricted', status: 403, keyId: 'key_r' });
    expect(guard.respond(outside.failure)).toMatchObject({
      status: 403,
      body: '{"detail":"API key not allowed here"}',
    });
    expect(observe).toHaveBeenLastCalledWith(outside, expect.any(Number));
  });

  it('checks restrictions before scopes: the answer does not depend on what the key holds', () => {
    const guard = createGuard({ schemes: header, verify: () => restricted }).require('admin');
    expect(code(guard.authenticate(req('198.51.100.1')) as AuthResult<unknown>)).toBe('restricted');
    expect(code(guard.authenticate(req('203.0.113.1')) as AuthResult<unknown>)).toBe('insufficient_scope');
  });

  it('neither counts a restricted request against the rate limit nor spends', async () => {
    const limiter = memoryRateLimiter();
    const consume = vi.spyOn(limiter, 'consume');
    const spend = vi.fn(() => undefined);
    const guard = createGuard({
      schemes: header,
      verify: () => spendable(restricted, spend),
      limits: rateLimits({ limiter }),
    });
    for (let i = 0; i < 5; i++)
      expect(code(await settled(guard.authenticate(req('198.51.100.1'))))).toBe('restricted');
    expect(consume).not.toHaveBeenCalled();
    expect(spend).not.toHaveBeenCalled();
    // The key's whole budget is still there.
    expect(code(await settled(guard.authenticate(req('203.0.113.1'))))).toBe('ok');
    expect(code(await settled(guard.authenticate(req('203.0.113.1'))))).toBe('ok');
    expect(code(await settled(guard.authenticate(req('203.0.113.1'))))).toBe('rate_limited');
    expect(spend).toHaveBeenCalledTimes(2);
  });

  it('reads the client address as the rate limits do: X-Forwarded-For only from trusted proxies', async () => {
    const guard = createGuard({
      schemes: header,
      verify: () => restricted,
      limits: rateLimits({ clientAddress: { trustedProxies: ['10.0.0.0/8'] } }),
    });
    const via = async (peer: string, xff: string) =>
      code(await settled(guard.authenticate(req(peer, { 'x-forwarded-for': xff }))));
    expect(await via('10.0.0.2', '203.0.113.5')).toBe('ok');
    expect(await via('10.0.0.2', '198.51.100.5')).toBe('restricted');
    // An untrusted peer cannot name itself in the header.
    expect(await via('198.51.100.7', '203.0.113.5')).toBe('restricted');
  });

  it('does not count a restricted request as a failed attempt of its address', async () => {
    const guard = createGuard({
      schemes: header,
      verify: (key) => (key === 'k' ? restricted : null),
      limits: rateLimits({ failures: { limit: 1, windowSeconds: 60 } }),
    });
    for (let i = 0; i < 5; i++)
      expect(code(await settled(guard.authenticate(req('198.51.100.1'))))).toBe('restricted');
    const wrong: KeySource = {
      ...req('198.51.100.1'),
      header: (n) => (n === 'x-api-key' ? 'wrong' : undefined),
    };
    // The first wrong key is the address's first failure: still a 401, not yet blocked.
    expect(code(await settled(guard.authenticate(wrong)))).toBe('invalid');
    expect(code(await settled(guard.authenticate(wrong)))).toBe('rate_limited');
  });

  it('fails closed with 503 when restrictionsOf throws', () => {
    const onError = vi.fn();
    const guard = createGuard({
      schemes: header,
      verify: () => ({ id: 'x' }),
      restrictionsOf: () => {
        throw new Error('boom');
      },
      onError,
    });
    expect(code(guard.authenticate(req('203.0.113.1')) as AuthResult<unknown>)).toBe('unavailable');
    expect(onError).toHaveBeenCalledOnce();
  });

  it('ignores a restrictions property that is not a compiled restriction, and takes restrictionsOf', () => {
    const plain = createGuard({
      schemes: header,
      verify: () => ({ id: 'x', restrictions: { ipAllow: ['1.1.1.1'] } }),
    });
    expect(code(plain.authenticate(req('203.0.113.1')) as AuthResult<unknown>)).toBe('ok');
    const routes = compileRestrictions({ routes: ['GET /reports/*'] });
    const custom = createGuard({
      schemes: header,
      verify: () => ({ id: 'x' }),
      restrictionsOf: () => routes,
    });
    expect(code(custom.authenticate(req('1.1.1.1')) as AuthResult<unknown>)).toBe('ok');
    expect(code(custom.authenticate(req('1.1.1.1', {}, '/admin')) as AuthResult<unknown>)).toBe('restricted');
  });
});
