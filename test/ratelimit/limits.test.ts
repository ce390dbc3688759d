import { Hono } from 'hono';
import { describe, expect, it, vi } from 'vitest';
import { apiKeyAuth } from '../../src/adapters/hono/index.js';
import { type AuthResult, apiKeyHeader, createGuard, type Verifier } from '../../src/index.js';
import { AuthLimits, rateLimits } from '../../src/ratelimit/auth-limits.js';
import { clientAddressResolver, ipv6Network } from '../../src/ratelimit/client-address.js';
import { memoryRateLimiter, redisRateLimiter } from '../../src/ratelimit/limiter.js';

interface P {
  id: string;
  rateLimit?: { limit: number; windowSeconds: number } | null;
}
const header = apiKeyHeader({ name: 'X-API-Key' });
const principals: Record<string, P> = {
  limited: { id: 'limited', rateLimit: { limit: 3, windowSeconds: 60 } },
  free: { id: 'free', rateLimit: null },
};
function verifier(): Verifier<P> {
  const verify = vi.fn((key: string) => principals[key]) as unknown as Verifier<P>;
  verify.knows = (key) => key in principals;
  return verify;
}
const from = (key: string | undefined, peer = '203.0.113.7', forwardedFor?: string) => ({
  header: (n: string) => (n === 'x-api-key' ? key : n === 'x-forwarded-for' ? forwardedFor : undefined),
  query: () => '',
  peer: () => peer,
});
const code = (r: AuthResult<P>) => (r.ok ? 'ok' : r.failure.code);

describe('per-key rate limits', () => {
  it('lets a key with a limit serve exactly that many requests per window, with IETF headers', async () => {
    const guard = createGuard({ schemes: header, verify: verifier(), limits: rateLimits({}) });
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await guard.authenticate(from('limited')));
    expect(results.map(code)).toEqual(['ok', 'ok', 'ok', 'rate_limited', 'rate_limited']);
    const first = results[0]!;
    expect(first.ok && first.headers).toEqual({
      'ratelimit-policy': '"key";q=3;w=60',
      ratelimit: expect.stringMatching(/^"key";r=2;t=\d+$/),
    });
    const denied = results[3]!;
    const response = guard.respond(denied.ok ? (undefined as never) : denied.failure);
    expect(response.status).toBe(429);
    expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
    expect(response.headers['ratelimit']).toMatch(/^"key";r=0;t=\d+$/);
    expect(JSON.parse(response.body)).toEqual({ detail: 'Too many requests' });
  });

  it('applies the default only to keys that set none, and no limit unless configured', async () => {
    const withDefault = createGuard({
      schemes: header,
      verify: verifier(),
      limits: rateLimits({ perKey: { default: { limit: 1, windowSeconds: 60 } } }),
    });
    expect(code(await withDefault.authenticate(from('free')))).toBe('ok');
    expect(code(await withDefault.authenticate(from('free')))).toBe('rate_limited');
    const none = createGuard({ schemes: header, verify: verifier() });
    for (let i = 0; i < 10; i++) expect(code(none.authenticate(from('limited')) as AuthResult<P>)).toBe('ok');
  });
});

describe('failed authentication per client address', () => {
  it('answers 429 without checking keys once an address is over, but lets known-good keys through', async () => {
    const verify = verifier();
    const guard = createGuard({
      schemes: header,
      verify,
      limits: rateLimits({ failures: { limit: 3, windowSeconds: 60 } }),
    });
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push(code(await guard.authenticate(from(`guess-${i}`))));
    expect(codes).toEqual(['invalid', 'invalid', 'invalid', 'rate_limited']);
    vi.mocked(verify).mockClear();
    expect(code(await guard.authenticate(from('guess-9')))).toBe('rate_limited');
    expect(verify).not.toHaveBeenCalled(); // the guess taught nothing
    expect(code(await guard.authenticate(from('free')))).toBe('ok'); // a known client behind the same NAT
    expect(code(await guard.authenticate(from('guess-9', '198.51.100.1')))).toBe('invalid'); // other addresses unaffected
  });

  it('does not count a missing key as a failed attempt', async () => {
    const guard = createGuard({
      schemes: header,
      verify: verifier(),
      limits: rateLimits({ failures: { limit: 1, windowSeconds: 60 } }),
    });
    for (let i = 0; i < 3; i++) expect(code(await guard.authenticate(from(undefined)))).toBe('missing');
    expect(code(await guard.authenticate(from('guess')))).toBe('invalid');
  });

  it('ignores X-Forwarded-For unless the peer is a configured proxy', async () => {
    const guard = createGuard({
      schemes: header,
      verify: verifier(),
      limits: rateLimits({
        failures: { limit: 1, windowSeconds: 60 },
        clientAddress: { trustedProxies: ['10.0.0.0/8'] },
      }),
    });
    // Behind the proxy: two clients are told apart by X-Forwarded-For.
    expect(code(await guard.authenticate(from('g1', '10.0.0.2', '192.0.2.1')))).toBe('invalid');
    expect(code(await guard.authenticate(from('g2', '10.0.0.2', '192.0.2.1')))).toBe('rate_limited');
    expect(code(await guard.authenticate(from('g3', '10.0.0.2', '192.0.2.2')))).toBe('invalid');
    // A direct client cannot escape its block by inventing a header.
    expect(code(await guard.authenticate(from('g4', '203.0.113.50')))).toBe('invalid');
    expect(code(await guard.authenticate(from('g5', '203.0.113.50', '192.0.2.77')))).toBe('rate_limited');
  });
});

describe('client address resolution', () => {
  it('is the peer by default, whatever X-Forwarded-For says', () => {
    expect(clientAddressResolver()('::ffff:127.0.0.1', '1.2.3.4')).toBe('127.0.0.1');
  });
  it('walks X-Forwarded-For from the right over trusted hops only', () => {
    const resolve = clientAddressResolver({ trustedProxies: ['10.0.0.0/8', '::1'] });
    expect(resolve('10.1.1.1', '6.6.6.6, 192.0.2.9, 10.2.2.2')).toBe('192.0.2.9');
    expect(resolve('::1', '192.0.2.9')).toBe('192.0.2.9');
    expect(resolve('10.1.1.1', 'not-an-ip')).toBe('10.1.1.1');
    expect(resolve('10.1.1.1', ['10.3.3.3', '10.4.4.4'])).toBe('10.3.3.3');
  });
  it('folds IPv6 addresses to their /64', () => {
    expect(ipv6Network('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(ipv6Network('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(ipv6Network('2001:db8:0001:0002::')).toBe('2001:db8:1:2::/64');
    expect(ipv6Network('::1')).toBe('0:0:0:0::/64');
    expect(ipv6Network('::1.2.3.4')).toBe('0:0:0:0::/64');
    expect(ipv6Network('64:ff9b:1:2::1.2.3.4')).toBe('64:ff9b:1:2::/64');
  });
  it('refuses bad proxy entries at startup', () => {
    expect(() => clientAddressResolver({ trustedProxies: ['nope'] })).toThrow(/trustedProxies/);
    expect(() => clientAddressResolver({ trustedProxies: ['10.0.0.0/40'] })).toThrow(/prefix/);
  });
});

it('Hono sends the RateLimit headers on allowed responses and 429 with Retry-After', async () => {
  const app = new Hono();
  app.get('/x', apiKeyAuth({ schemes: header, verify: verifier(), limits: rateLimits() }), (c) =>
    c.json({ ok: true }),
  );
  const ok = await app.request('/x', { headers: { 'x-api-key': 'limited' } });
  expect(ok.status).toBe(200);
  expect(ok.headers.get('ratelimit-policy')).toBe('"key";q=3;w=60');
  await app.request('/x', { headers: { 'x-api-key': 'limited' } });
  await app.request('/x', { headers: { 'x-api-key': 'limited' } });
  const over = await app.request('/x', { headers: { 'x-api-key': 'limited' } });
  expect(over.status).toBe(429);
  expect(over.headers.get('retry-after')).toMatch(/^\d+$/);
});

describe('bounded per-address state', () => {
  it('keeps at most maxCounters counters per kind, and a failure flood never evicts per-key counters', async () => {
    const limiter = memoryRateLimiter({ maxCounters: 1000 });
    const rule = { limit: 5, windowSeconds: 60 };
    await limiter.consume('key:a', rule);
    for (let i = 0; i < 10_000; i++) await limiter.consume(`fail:192.0.2.${i}`, rule);
    expect(limiter.size).toBeLessThanOrEqual(1001);
    expect(limiter.size).toBeGreaterThan(950);
    // key:a kept its count through the flood.
    expect((await limiter.consume('key:a', rule)).remaining).toBe(3);
  });

  it('counts a fixed window per counter and starts it again once it has passed', async () => {
    const limiter = memoryRateLimiter();
    const rule = { limit: 2, windowSeconds: 1 };
    const first = await limiter.consume('fail:x', rule);
    expect(first).toEqual({ allowed: true, limit: 2, remaining: 1, resetSeconds: 1, windowSeconds: 1 });
    expect((await limiter.consume('fail:x', rule)).allowed).toBe(true);
    expect(await limiter.consume('fail:x', rule)).toMatchObject({ allowed: false, remaining: 0 });
    await new Promise((r) => setTimeout(r, 1100));
    expect(await limiter.consume('fail:x', rule)).toMatchObject({ allowed: true, remaining: 1 });
    expect(() => memoryRateLimiter({ maxCounters: 0 })).toThrow(/maxCounters/);
  });

  it('caps blocked addresses at maxAddresses', async () => {
    const limits = new AuthLimits<P>({ failures: { limit: 1, windowSeconds: 60 }, maxAddresses: 500 });
    const guard = createGuard({ schemes: header, verify: verifier(), limits });
    for (let i = 0; i < 2000; i++) {
      const peer = `198.51.${i >> 8}.${i & 255}`;
      await guard.authenticate(from('free', peer));
      await guard.authenticate(from('guess-1', peer));
      expect(code(await guard.authenticate(from('guess-2', peer)))).toBe('rate_limited');
    }
    // Never more than the cap (504: 500 rounded up to sets of eight); nearly full.
    for (const n of Object.values(limits.size)) {
      expect(n).toBeLessThanOrEqual(504);
      expect(n).toBeGreaterThan(450);
    }
    expect(() => rateLimits({ maxAddresses: 0 })).toThrow(/maxAddresses/);
  });

  it('counts the local fail mode of the Redis limiter in a bounded memory limiter too', async () => {
    // A client whose every call fails: the limiter falls back to local counting at once.
    const limiter = redisRateLimiter({ client: { status: 'end' }, maxCounters: 8, failMode: 'local' });
    const rule = { limit: 1, windowSeconds: 60 };
    expect((await limiter.consume('fail:a', rule)).allowed).toBe(true);
    expect((await limiter.consume('fail:a', rule)).allowed).toBe(false);
    // Eight counters in all: eight more push out the least recently used, `fail:a`.
    for (let i = 0; i < 8; i++) await limiter.consume(`fail:b${i}`, rule);
    expect((await limiter.consume('fail:a', rule)).allowed).toBe(true);
  });

  it('counts every address of an IPv6 /64 as one client', async () => {
    const guard = createGuard({
      schemes: header,
      verify: verifier(),
      limits: rateLimits({
        failures: { limit: 2, windowSeconds: 60 },
        clientAddress: { trustedProxies: ['10.0.0.0/8'] },
      }),
    });
    const codes = [];
    for (const address of ['2001:db8:1:2::1', '2001:db8:1:2:ffff::9', '2001:db8:1:2::3'])
      codes.push(code(await guard.authenticate(from('guess', '10.0.0.1', address))));
    expect(codes).toEqual(['invalid', 'invalid', 'rate_limited']);
    // Directly connected, the same.
    expect(code(await guard.authenticate(from('guess', '2001:db8:1:2::77')))).toBe('rate_limited');
    expect(code(await guard.authenticate(from('guess', '10.0.0.1', '2001:db8:1:3::1')))).toBe('invalid');
  });
});
