import { BlockList, isIP } from 'node:net';
import type { KeyManager } from '@keyward/keys';
import { Hono } from 'hono';
import {
  type AuthResult,
  apiKeyHeader,
  createGuard,
  KeywardConfigError,
  staticKeys,
  type Verifier,
} from 'keyward';
import { withApiKey } from 'keyward/fetch';
import { apiKeyAuth } from 'keyward/hono';
import { redisRateLimiter } from 'keyward/redis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { clientAddressResolver, ipv6Network } from '../../packages/keyward/src/limits/client-address.js';
import { memoryRateLimiter } from '../../packages/keyward/src/limits/limiter.js';
import { AuthLimits, rateLimits } from '../../packages/keyward/src/limits/rate-limits.js';
import { memoryManager } from '../keys/fixtures.js';

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

  it("blocks an address that keeps guessing while a 'closed' limiter's store is down", async () => {
    // Without a count of its own, every guess was still checked during the outage: a wrong
    // key 503, the right one 200, as fast as the attacker could ask.
    const keys: Record<string, P> = { alice: { id: 'alice' }, bob: { id: 'bob' } };
    const verify = vi.fn((key: string) => keys[key]) as unknown as Verifier<P>;
    const guard = createGuard({
      schemes: header,
      verify,
      onError: () => {},
      limits: rateLimits({
        // A client whose every call fails: the store is unreachable from the start.
        limiter: redisRateLimiter({ client: { status: 'end' }, failMode: 'closed' }),
        failures: { limit: 3, windowSeconds: 60 },
      }),
    });
    expect(code(await guard.authenticate(from('alice')))).toBe('ok');
    const codes = [];
    for (let i = 0; i < 5; i++) codes.push(code(await guard.authenticate(from(`guess-${i}`))));
    expect(codes).toEqual(['unavailable', 'unavailable', 'unavailable', 'rate_limited', 'rate_limited']);
    vi.mocked(verify).mockClear();
    // The right key, never used from this address: not even checked.
    expect(code(await guard.authenticate(from('bob')))).toBe('rate_limited');
    expect(code(await guard.authenticate(from('alice')))).toBe('ok'); // known from this address
    expect(vi.mocked(verify).mock.calls.map(([key]) => key)).toEqual(['alice']);
    expect(code(await guard.authenticate(from('guess-9', '198.51.100.1')))).toBe('unavailable');
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
    expect(resolve('10.1.1.1', ['10.3.3.3', '10.4.4.4'])).toBe('10.3.3.3');
  });
  it('reads hops as proxies write them: ports, brackets, quotes (RFC 7239)', () => {
    const resolve = clientAddressResolver({ trustedProxies: ['10.0.0.0/8'] });
    expect(resolve('10.1.1.1', '192.0.2.9:5678')).toBe('192.0.2.9');
    expect(resolve('10.1.1.1', '[2001:db8::1]:443')).toBe('2001:db8::1');
    expect(resolve('10.1.1.1', '[2001:DB8::1]')).toBe('2001:db8::1');
    expect(resolve('10.1.1.1', '"[2001:db8::1]:443"')).toBe('2001:db8::1');
    expect(resolve('10.1.1.1', '2001:db8::1')).toBe('2001:db8::1');
    expect(resolve('10.1.1.1', '::ffff:192.0.2.9')).toBe('192.0.2.9');
    // A trusted hop with a port is still trusted.
    expect(resolve('10.1.1.1', '192.0.2.9, 10.2.2.2:80')).toBe('192.0.2.9');
    // Empty entries are no hop.
    expect(resolve('10.1.1.1', '192.0.2.9, ,')).toBe('192.0.2.9');
    expect(resolve('10.1.1.1', ' ')).toBe('10.1.1.1');
  });
  it('counts a hop that names no address as that client, never as the proxy nor the hops left of it', () => {
    const resolve = clientAddressResolver({ trustedProxies: ['10.0.0.0/8'] });
    // `unknown` and junk: the one shared unknown client (not the proxy 10.1.1.1, not 6.6.6.6).
    for (const hop of ['unknown', 'not-an-ip', '999.1.1.1', '[::1', '1.2.3.4:99999x', '[::1]x'])
      expect(resolve('10.1.1.1', `6.6.6.6, ${hop}`), hop).toBe('unknown');
    expect(resolve('10.1.1.1', '6.6.6.6, unknown, 10.2.2.2')).toBe('unknown');
    // An obfuscated identifier is its own client (RFC 7239 §6.3).
    expect(resolve('10.1.1.1', '6.6.6.6, _hidden-7')).toBe('_hidden-7');
    expect(resolve('10.1.1.1', '"_hidden-7"')).toBe('_hidden-7');
  });
  it('folds IPv6 addresses to their /64', () => {
    expect(ipv6Network('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(ipv6Network('2001:db8::1')).toBe('2001:db8::/64');
    expect(ipv6Network('2001:db8:0001:0002::')).toBe('2001:db8:1:2::/64');
    expect(ipv6Network('::1')).toBe('::/64');
    expect(ipv6Network('::1.2.3.4')).toBe('::/64');
    expect(ipv6Network('64:ff9b:1:2::1.2.3.4')).toBe('64:ff9b:1:2::/64');
  });
  it('matches trusted addresses and ranges as node:net BlockList does', () => {
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const v4 = () => [rnd(4) ? 10 : rnd(256), rnd(3), rnd(256), rnd(256)].join('.');
    const v6 = () => {
      const g = [0x2001, 0xdb8, rnd(3), rnd(2) ? 0 : rnd(65536), rnd(65536), 0, rnd(3), rnd(65536)];
      return rnd(4)
        ? g.map((x) => x.toString(16)).join(':')
        : `2001:db8:${g[2]!.toString(16)}::${g[7]!.toString(16)}`;
    };
    const ranges = [
      '10.0.0.0/8',
      '10.1.2.0/23',
      '192.0.2.1',
      '0.0.0.0/0',
      '2001:db8:1::/48',
      '2001:db8:2:0:0:0:1:0/113',
      '::ffff:172.16.0.0/108',
    ];
    for (let r = 0; r < 20; r++) ranges.push(`${v4()}/${rnd(33)}`, `${v6()}/${rnd(129)}`);
    for (const range of ranges) {
      const [address = '', bits] = range.split('/');
      const family = isIP(address) === 4 ? 'ipv4' : 'ipv6';
      const list = new BlockList();
      if (bits === undefined) list.addAddress(address, family);
      else list.addSubnet(address, Number(bits), family);
      // The resolver trusts the peer when the range holds it, and then reads X-Forwarded-For.
      const resolve = clientAddressResolver({ trustedProxies: [range] });
      for (let i = 0; i < 300; i++) {
        const peer = i % 2 ? v4() : v6();
        const expected = list.check(peer, isIP(peer) === 4 ? 'ipv4' : 'ipv6');
        expect(resolve(peer, '198.51.100.9') === '198.51.100.9', `${peer} in ${range}`).toBe(expected);
      }
      expect(resolve(address, '198.51.100.9'), `${address} in ${range}`).toBe('198.51.100.9');
    }
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

  it('keeps buckets of any other name in one shared table, not a table per prefix', async () => {
    // Each table is allocated whole (about 2.8 MB at the default size): a table per prefix
    // let a caller's bucket names grow memory without bound.
    const limiter = memoryRateLimiter({ maxCounters: 8 });
    const rule = { limit: 1, windowSeconds: 60 };
    await limiter.consume('key:a', rule);
    await limiter.consume('fail:192.0.2.1', rule);
    for (let i = 0; i < 100; i++) expect((await limiter.consume(`tenant${i}:x`, rule)).allowed).toBe(true);
    expect(limiter.size).toBe(2 + 8);
    // The shared table forgot the first of them; keyward's own kinds kept theirs.
    expect((await limiter.consume('tenant0:x', rule)).allowed).toBe(true);
    expect((await limiter.consume('key:a', rule)).allowed).toBe(false);
    expect((await limiter.consume('fail:192.0.2.1', rule)).allowed).toBe(false);
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

  it('caps blocked addresses and remembered good keys at maxAddresses', async () => {
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
    for (const address of ['2001:db8:1:2::1', '2001:db8:1:2:ffff::9', '[2001:db8:1:2::3]:443'])
      codes.push(code(await guard.authenticate(from('guess', '10.0.0.1', address))));
    expect(codes).toEqual(['invalid', 'invalid', 'rate_limited']);
    // Directly connected, the same.
    expect(code(await guard.authenticate(from('guess', '2001:db8:1:2::77')))).toBe('rate_limited');
    expect(code(await guard.authenticate(from('guess', '10.0.0.1', '2001:db8:1:3::1')))).toBe('invalid');
  });
});

describe('clients sharing a blocked address', () => {
  const failures = { limit: 3, windowSeconds: 60 };
  const block = async (guard: { authenticate: (s: ReturnType<typeof from>) => unknown }, peer?: string) => {
    const codes = [];
    for (let i = 0; i < 4; i++)
      codes.push(code((await guard.authenticate(from(`guess-${i}`, peer))) as AuthResult<P>));
    expect(codes.at(-1)).toBe('rate_limited');
  };

  it('lets a static key verified from the address through the block', async () => {
    const key = 'static-valid-key-0123456789';
    const guard = createGuard({
      schemes: header,
      verify: staticKeys([key]),
      limits: rateLimits({ failures }),
    });
    expect(code(await guard.authenticate(from(key)))).toBe('ok');
    await block(guard);
    for (let i = 0; i < 3; i++) expect(code(await guard.authenticate(from(key)))).toBe('ok');
    expect(code(await guard.authenticate(from('guess-9')))).toBe('rate_limited');
  });

  let managers: KeyManager[] = [];
  afterEach(async () => {
    await Promise.all(managers.map((m) => m.close()));
    managers = [];
  });

  it('lets a stored key through for the whole window, after its cache entry has expired', async () => {
    const { manager } = await memoryManager({ cache: { ttlMs: 50 } });
    managers.push(manager);
    const { key } = await manager.create({ name: 'behind-nat' });
    const guard = createGuard({
      schemes: header,
      verify: manager.verifier(),
      limits: rateLimits({ failures }),
    });
    expect(code(await guard.authenticate(from(key)))).toBe('ok');
    await block(guard);
    await new Promise((r) => setTimeout(r, 100)); // the verification cache has forgotten the key
    expect(manager.verifier().knows?.(key)).toBe(false);
    expect(code(await guard.authenticate(from(key)))).toBe('ok');
  });

  it('still verifies a remembered key in full: revoked, it fails and stays blocked', async () => {
    const { manager } = await memoryManager({ cache: { ttlMs: 50 } });
    managers.push(manager);
    const { key, record } = await manager.create({ name: 'soon-revoked' });
    const guard = createGuard({
      schemes: header,
      verify: manager.verifier(),
      limits: rateLimits({ failures }),
    });
    expect(code(await guard.authenticate(from(key)))).toBe('ok');
    await block(guard);
    await manager.revoke(record.id);
    expect(code(await guard.authenticate(from(key)))).toBe('rate_limited');
  });

  it('remembers a key per address: one verified elsewhere does not pass this block', async () => {
    const verify = vi.fn((k: string) => (k === 'good' ? { id: 'good' } : null));
    const guard = createGuard({ schemes: header, verify, limits: rateLimits({ failures }) });
    expect(code(await guard.authenticate(from('good', '198.51.100.1')))).toBe('ok');
    await block(guard, '198.51.100.2');
    verify.mockClear();
    expect(code(await guard.authenticate(from('good', '198.51.100.2')))).toBe('rate_limited');
    expect(verify).not.toHaveBeenCalled();
    expect(code(await guard.authenticate(from('good', '198.51.100.1')))).toBe('ok');
  });

  it('tells clients behind a proxy apart by ip:port hops, and unknown ones never block the rest', async () => {
    const guard = createGuard({
      schemes: header,
      verify: verifier(),
      limits: rateLimits({
        failures: { limit: 1, windowSeconds: 60 },
        clientAddress: { trustedProxies: ['10.0.0.0/8'] },
      }),
    });
    const via = (key: string, hop: string) => guard.authenticate(from(key, '10.0.0.2', hop));
    expect(code(await via('g', '192.0.2.1:1111'))).toBe('invalid');
    expect(code(await via('g', '192.0.2.1:2222'))).toBe('rate_limited'); // same client, another port
    expect(code(await via('g', '192.0.2.2:1111'))).toBe('invalid');
    expect(code(await via('g', 'unknown'))).toBe('invalid');
    expect(code(await via('g', 'unknown'))).toBe('rate_limited');
    // Neither the proxy's own requests nor other clients are blocked by the unknown ones.
    expect(code(await guard.authenticate(from('g', '10.0.0.2')))).toBe('invalid');
    expect(code(await via('g', '[2001:db8::1]:443'))).toBe('invalid');
  });
});

// fetch handlers and Hono outside @hono/node-server see no peer address.
describe('failure limits without a peer address (fetch, Hono outside Node)', () => {
  const failures = { limit: 3, windowSeconds: 60 };
  const verify = (k: string) => (k === 'good' ? { id: 'good' } : null);
  const guess = (i: number, headers: Record<string, string> = {}) =>
    new Request('http://x/', { headers: { 'x-api-key': `guess-${i}`, ...headers } });

  async function statuses(send: (i: number) => Promise<Response> | Response, n = 6) {
    const out = [];
    for (let i = 0; i < n; i++) out.push((await send(i)).status);
    return out;
  }

  it('fetch: answers 503 and reports the misconfiguration once, never silently unlimited', async () => {
    const onError = vi.fn();
    const handler = withApiKey({ schemes: header, verify, limits: rateLimits({ failures }), onError }, () =>
      Response.json({ ok: true }),
    );
    expect(await statuses((i) => handler(guess(i)))).toEqual([503, 503, 503, 503, 503, 503]);
    const ok = await handler(new Request('http://x/', { headers: { 'x-api-key': 'good' } }));
    expect(ok.status).toBe(503);
    expect(ok.headers.get('retry-after')).toBe('5');
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onError.mock.calls[0]![0]).toBeInstanceOf(KeywardConfigError);
    expect(String(onError.mock.calls[0]![0].message)).toMatch(
      /no client address.*clientAddress: \{ header \}/,
    );
  });

  it('fetch: limits failed attempts by the address in clientAddress.header', async () => {
    const onError = vi.fn();
    const limits = rateLimits({ failures, clientAddress: { header: 'CF-Connecting-IP' } });
    const handler = withApiKey({ schemes: header, verify, limits, onError }, () =>
      Response.json({ ok: true }),
    );
    const from = (ip: string) => (i: number) => handler(guess(i, { 'cf-connecting-ip': ip }));
    expect(await statuses(from('192.0.2.1'))).toEqual([401, 401, 401, 429, 429, 429]);
    expect(await statuses(from('192.0.2.2'), 1)).toEqual([401]);
    // The header missing on a request: 503, reported once.
    expect(await statuses((i) => handler(guess(i)), 2)).toEqual([503, 503]);
    expect(onError).toHaveBeenCalledTimes(1);
    expect(String(onError.mock.calls[0]![0].message)).toMatch(/"CF-Connecting-IP" header/);
  });

  it('Hono without a Node request: 503 and one report, or limited by clientAddress.header', async () => {
    const onError = vi.fn();
    const app = new Hono();
    app.get('/off', apiKeyAuth({ schemes: header, verify, limits: rateLimits({ failures }), onError }), (c) =>
      c.json({ ok: true }),
    );
    const limits = rateLimits({ failures, clientAddress: { header: 'fly-client-ip' } });
    app.get('/on', apiKeyAuth({ schemes: header, verify, limits }), (c) => c.json({ ok: true }));
    const send = (path: string, i: number, headers: Record<string, string> = {}) =>
      app.request(path, { headers: { 'x-api-key': `guess-${i}`, ...headers } });
    expect(await statuses((i) => send('/off', i))).toEqual([503, 503, 503, 503, 503, 503]);
    expect(onError).toHaveBeenCalledTimes(1);
    expect(await statuses((i) => send('/on', i, { 'fly-client-ip': '2001:db8::1' }))).toEqual([
      401, 401, 401, 429, 429, 429,
    ]);
  });

  it('refuses a header that is no header name, or a header together with trusted proxies', () => {
    expect(() => rateLimits({ clientAddress: { header: 'bad header' } })).toThrow(KeywardConfigError);
    expect(() =>
      rateLimits({ clientAddress: { header: 'x-real-ip', trustedProxies: ['10.0.0.0/8'] } }),
    ).toThrow(/either header or trustedProxies/);
  });
});
