import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeywardConfigError } from '../core/failures.js';
import type { KeySource } from '../core/request.js';
import { isRestriction } from '../core/restriction.js';
import { formatIp, inRange, parseIp, parseRange } from '../internal/ip.js';
import { combineRestrictions, compileRestrictions, type Restrictions } from './restrictions.js';

interface Fake {
  peer?: string;
  headers?: Record<string, string | string[]>;
  method?: string;
  path?: string;
  operation?: string;
}

function source(f: Fake): KeySource {
  return {
    header: (name) => f.headers?.[name],
    query: () => '',
    peer: () => f.peer,
    method: () => f.method,
    path: () => f.path,
    operation: () => f.operation,
  };
}

function compiled(r: Restrictions) {
  const c = compileRestrictions(r, { keyId: 'key_1' });
  if (!c) throw new Error('expected a restriction');
  return c;
}

const from = (r: Restrictions, peer: string) => compiled(r).allows(source({ peer }));

describe('ipAllow', () => {
  it('matches IPv4 addresses and ranges, and nothing else', () => {
    const r = { ipAllow: ['203.0.113.0/24', '198.51.100.7'] };
    expect(from(r, '203.0.113.0')).toBe(true);
    expect(from(r, '203.0.113.255')).toBe(true);
    expect(from(r, '203.0.114.0')).toBe(false);
    expect(from(r, '198.51.100.7')).toBe(true);
    expect(from(r, '198.51.100.8')).toBe(false);
    expect(from(r, '2001:db8::1')).toBe(false);
    expect(from(r, 'unknown')).toBe(false);
    expect(from(r, '203.0.113.07')).toBe(false);
    expect(compiled(r).allows(source({}))).toBe(false);
  });

  it('reads IPv4-mapped IPv6 peers (dual-stack sockets) as IPv4', () => {
    const r = { ipAllow: ['10.1.0.0/16'] };
    expect(from(r, '::ffff:10.1.2.3')).toBe(true);
    expect(from(r, '::FFFF:10.1.2.3')).toBe(true);
    expect(from(r, '::ffff:a01:203')).toBe(true);
    expect(from(r, '::ffff:10.2.0.1')).toBe(false);
    // A mapped range names the IPv4 range.
    expect(from({ ipAllow: ['::ffff:10.1.0.0/112'] }, '10.1.9.9')).toBe(true);
  });

  it('matches IPv6 ranges at any prefix', () => {
    const r = { ipAllow: ['2001:db8:abcd::/48', '2001:db8::1'] };
    expect(from(r, '2001:db8:abcd:12::9')).toBe(true);
    expect(from(r, '2001:DB8:ABCD::')).toBe(true);
    expect(from(r, '2001:db8:abce::1')).toBe(false);
    expect(from(r, '2001:db8::1')).toBe(true);
    expect(from(r, '2001:db8::2')).toBe(false);
    expect(from(r, 'fe80::1%eth0')).toBe(false);
    expect(from(r, '10.0.0.1')).toBe(false);
    expect(from({ ipAllow: ['2001:db8::/33'] }, '2001:db8:7fff::1')).toBe(true);
    expect(from({ ipAllow: ['2001:db8::/33'] }, '2001:db8:8000::1')).toBe(false);
  });

  it('handles the edge masks /0, /32 and /128', () => {
    expect(from({ ipAllow: ['0.0.0.0/0'] }, '255.255.255.255')).toBe(true);
    expect(from({ ipAllow: ['0.0.0.0/0'] }, '0.0.0.0')).toBe(true);
    expect(from({ ipAllow: ['0.0.0.0/0'] }, '2001:db8::1')).toBe(false);
    expect(from({ ipAllow: ['192.0.2.1/32'] }, '192.0.2.1')).toBe(true);
    expect(from({ ipAllow: ['192.0.2.1/32'] }, '192.0.2.0')).toBe(false);
    expect(from({ ipAllow: ['2001:db8::1/128'] }, '2001:db8::1')).toBe(true);
    expect(from({ ipAllow: ['2001:db8::1/128'] }, '2001:db8::')).toBe(false);
    expect(from({ ipAllow: ['::/0'] }, '2001:db8::1')).toBe(true);
    // The IPv4-mapped block lies in ::/0: IPv4 clients too, as node:net's BlockList has it.
    expect(from({ ipAllow: ['::/0'] }, '192.0.2.1')).toBe(true);
    expect(from({ ipAllow: ['2001:db8::/32'] }, '192.0.2.1')).toBe(false);
  });

  it('reads the client address through the reader it is given (trusted proxies)', () => {
    const c = compiled({ ipAllow: ['198.51.100.0/24'] });
    const s = source({ peer: '10.0.0.1' });
    expect(c.allows(s)).toBe(false);
    expect(c.allows(s, () => '198.51.100.9')).toBe(true);
    expect(c.refusal(s, () => undefined)?.code).toBe('restricted');
  });

  it('rejects malformed entries with a message naming them', () => {
    const bad = (ipAllow: string[]) => () => compileRestrictions({ ipAllow });
    expect(bad(['10.0.0.0/33'])).toThrow(/bad prefix length in "10.0.0.0\/33"/);
    expect(bad(['2001:db8::/129'])).toThrow(/bad prefix length/);
    expect(bad(['10.0.0.256'])).toThrow(/"10.0.0.256" is not an IP address or CIDR range/);
    expect(bad(['example.com'])).toThrow(KeywardConfigError);
    expect(bad(['10.0.0.1/8'])).toThrow(/bits set past its \/8 prefix; did you mean 10.0.0.0\/8/);
    expect(bad(['fe80::1%eth0'])).toThrow(/not an IP address/);
    expect(bad(['10.0.0.0/-1'])).toThrow(/bad prefix length/);
    expect(() => compileRestrictions({ ipAllow: 'x' as unknown as string[] })).toThrow(/list of strings/);
    expect(() =>
      compileRestrictions({ ipAllow: Array.from({ length: 257 }, (_, i) => `10.0.${i >> 8}.${i & 255}`) }),
    ).toThrow(/at most 256/);
  });

  it('keeps canonical entries', () => {
    expect(
      compiled({ ipAllow: ['2001:DB8::/32', '10.0.0.0/8', ' 10.0.0.0/8 ', '192.0.2.1/32'] }).restrictions,
    ).toEqual({
      ipAllow: ['2001:db8::/32', '10.0.0.0/8', '192.0.2.1'],
    });
  });
});

describe('originAllow', () => {
  const r = { originAllow: ['https://App.Example.com', 'https://*.example.org', 'http://localhost:5173/'] };
  const with_ = (headers: Record<string, string | string[]>) => compiled(r).allows(source({ headers }));

  it('checks Origin, exactly', () => {
    expect(with_({ origin: 'https://app.example.com' })).toBe(true);
    expect(with_({ origin: 'https://APP.example.com' })).toBe(true);
    expect(with_({ origin: 'http://app.example.com' })).toBe(false);
    expect(with_({ origin: 'https://app.example.com:8443' })).toBe(false);
    expect(with_({ origin: 'https://app.example.com.evil.test' })).toBe(false);
    expect(with_({ origin: 'http://localhost:5173' })).toBe(true);
    expect(with_({ origin: 'null' })).toBe(false);
    // Origin decides when present: a Referer does not rescue it.
    expect(with_({ origin: 'https://evil.test', referer: 'https://app.example.com/x' })).toBe(false);
    expect(with_({ origin: ['https://app.example.com', 'https://app.example.com'] })).toBe(false);
    expect(with_({ origin: 'https://app.example.com, https://evil.test' })).toBe(false);
  });

  it('matches subdomains of a wildcard, not its apex', () => {
    expect(with_({ origin: 'https://a.example.org' })).toBe(true);
    expect(with_({ origin: 'https://a.b.example.org' })).toBe(true);
    expect(with_({ origin: 'https://example.org' })).toBe(false);
    expect(with_({ origin: 'https://evil-example.org' })).toBe(false);
    expect(with_({ origin: 'http://a.example.org' })).toBe(false);
    expect(with_({ origin: 'https://a.example.org:444' })).toBe(false);
  });

  it("falls back to the Referer's origin, and refuses a request with neither", () => {
    expect(with_({ referer: 'https://app.example.com/reports?x=1' })).toBe(true);
    expect(with_({ referer: 'https://app.example.com' })).toBe(true);
    expect(with_({ referer: 'https://evil.test/https://app.example.com' })).toBe(false);
    expect(with_({ referer: 'https://app.example.com@evil.test/' })).toBe(false);
    expect(with_({ referer: 'https://app.example.com.evil.test/' })).toBe(false);
    expect(with_({ referer: '/relative' })).toBe(false);
    expect(with_({})).toBe(false);
  });

  it('rejects what is not an origin', () => {
    const bad = (o: string) => () => compileRestrictions({ originAllow: [o] });
    expect(bad('app.example.com')).toThrow(/"app.example.com" is not an origin/);
    expect(bad('https://app.example.com/path')).toThrow(/not an origin/);
    expect(bad('ftp://app.example.com')).toThrow(/not an origin/);
    expect(bad('https://user@app.example.com')).toThrow(/not an origin/);
    expect(bad('https://*.com')).toThrow(/at least two labels/);
    expect(bad('https://a.*.example.com')).toThrow(/not an origin/);
    expect(compiled({ originAllow: ['HTTPS://App.Example.com:443/'] }).restrictions).toEqual({
      originAllow: ['https://app.example.com'],
    });
  });
});

describe('routes', () => {
  const r = { routes: ['GET /reports/*', 'POST /jobs', 'get /users/{id}/keys', '* /health', 'list_things'] };
  const call = (method: string, path: string, operation?: string) =>
    compiled(r).allows(source({ method, path, operation }));

  it('allows the listed operations only', () => {
    expect(call('GET', '/reports/7')).toBe(true);
    expect(call('GET', '/reports/2024/q1')).toBe(true);
    expect(call('HEAD', '/reports/7')).toBe(true);
    expect(call('GET', '/reports')).toBe(false);
    expect(call('POST', '/reports/7')).toBe(false);
    expect(call('POST', '/jobs')).toBe(true);
    expect(call('POST', '/jobs/')).toBe(true);
    expect(call('POST', '/jobs/1')).toBe(false);
    expect(call('GET', '/jobs')).toBe(false);
    expect(call('GET', '/users/u1/keys')).toBe(true);
    expect(call('GET', '/users/u1/x/keys')).toBe(false);
    expect(call('DELETE', '/health')).toBe(true);
    expect(call('GET', '/reportsX/1')).toBe(false);
  });

  it('refuses paths a router or proxy may read as another', () => {
    expect(call('GET', '/reports/../admin')).toBe(false);
    expect(call('GET', '/reports/%2e%2e/admin')).toBe(false);
    expect(call('GET', '/reports/x%2Fy')).toBe(false);
    expect(call('GET', '/reports//x')).toBe(false);
    expect(call('GET', '/reports/x\\..\\admin')).toBe(false);
  });

  it('matches operation ids where the adapter knows them', () => {
    expect(call('GET', '/things', 'list_things')).toBe(true);
    expect(call('GET', '/things', 'other')).toBe(false);
    expect(call('GET', '/things')).toBe(false);
  });

  it('refuses when the adapter gives no method or path', () => {
    expect(compiled(r).allows({ header: () => undefined, query: () => '' })).toBe(false);
  });

  it('rejects malformed routes', () => {
    const bad = (route: string) => () => compileRestrictions({ routes: [route] });
    expect(bad('GET reports')).toThrow(/the path must start with \//);
    expect(bad('GET /a/../b')).toThrow(/plain/);
    expect(bad('GET /a%20b')).toThrow(/plain/);
    expect(bad('G3T /a')).toThrow(/bad method/);
    expect(bad('/reports')).toThrow(/neither "METHOD \/path"/);
    expect(bad('GET /a/{b')).toThrow(/bad path segment/);
    expect(compiled({ routes: ['get /a/', 'GET /a'] }).restrictions).toEqual({ routes: ['GET /a'] });
  });
});

describe('the restriction', () => {
  it('needs every list to pass, and answers one refusal whichever failed', () => {
    const c = compiled({ ipAllow: ['10.0.0.0/8'], originAllow: ['https://a.example'], routes: ['GET /x'] });
    const ok = { peer: '10.0.0.1', headers: { origin: 'https://a.example' }, method: 'GET', path: '/x' };
    const reader = (s: KeySource) => s.peer?.();
    expect(c.refusal(source(ok), reader)).toBeUndefined();
    const byIp = c.refusal(source({ ...ok, peer: '11.0.0.1' }), reader);
    const byOrigin = c.refusal(source({ ...ok, headers: {} }), reader);
    const byRoute = c.refusal(source({ ...ok, path: '/y' }), reader);
    expect(byIp).toBe(byOrigin);
    expect(byOrigin).toBe(byRoute);
    expect(byIp).toMatchObject({
      code: 'restricted',
      status: 403,
      detail: 'API key not allowed here',
      keyId: 'key_1',
    });
  });

  it('is nothing when every list is empty, and serialises as its canonical form', () => {
    expect(compileRestrictions({})).toBeUndefined();
    expect(compileRestrictions({ ipAllow: [], routes: [' '] })).toBeUndefined();
    expect(compileRestrictions(null)).toBeUndefined();
    const c = compiled({ routes: ['GET /x'] });
    expect(isRestriction(c)).toBe(true);
    expect(JSON.parse(JSON.stringify({ restrictions: c }))).toEqual({ restrictions: { routes: ['GET /x'] } });
  });

  it('combines restrictions (an owner and its key): each must allow', () => {
    const owner = compiled({ ipAllow: ['10.0.0.0/8'] });
    const key = compiled({ routes: ['GET /x'] });
    const both = combineRestrictions(owner, undefined, key)!;
    const reader = (s: KeySource) => s.peer?.();
    expect(both.refusal(source({ peer: '10.0.0.1', method: 'GET', path: '/x' }), reader)).toBeUndefined();
    expect(both.refusal(source({ peer: '11.0.0.1', method: 'GET', path: '/x' }), reader)?.code).toBe(
      'restricted',
    );
    expect(both.refusal(source({ peer: '10.0.0.1', method: 'GET', path: '/y' }), reader)?.code).toBe(
      'restricted',
    );
    expect(combineRestrictions(undefined, key)).toBe(key);
    expect(combineRestrictions()).toBeUndefined();
  });
});

describe('ipAllow against the reference parser (property)', () => {
  const v4 = fc.uint8Array({ minLength: 4, maxLength: 4 });
  // Mostly in a few networks, so that ranges and addresses meet.
  const v6 = fc
    .tuple(
      fc.constantFrom([0x20, 0x01, 0x0d, 0xb8], [0, 0, 0, 0], [0xfe, 0x80, 0, 0]),
      fc.uint8Array({ minLength: 12, maxLength: 12 }),
    )
    .map(([head, rest]) => Uint8Array.from([...head, ...rest]));
  const full = (b: Uint8Array) =>
    Array.from({ length: 8 }, (_, i) =>
      ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16).padStart(4, '0'),
    ).join(':');
  const address = fc.oneof(
    v4.map((b) => b.join('.')),
    v4.map((b) => `::ffff:${b.join('.')}`),
    v4.map((b) => `::FFFF:${b.join('.')}`),
    v6.map((b) => formatIp(b)),
    v6.map((b) => formatIp(b).toUpperCase()),
    v6.map((b) => full(b)),
    v6.map((b) => `${formatIp(b)}%eth0`),
    fc.string({ maxLength: 12 }),
  );
  const range = fc.oneof(
    fc.tuple(v4, fc.integer({ min: 0, max: 32 })).map(([b, p]) => ({ bytes: b, prefix: p })),
    fc.tuple(v6, fc.integer({ min: 0, max: 128 })).map(([b, p]) => ({ bytes: b, prefix: p })),
  );
  const network = ({ bytes, prefix }: { bytes: Uint8Array; prefix: number }) => {
    const n = Uint8Array.from(
      bytes,
      (x, i) => x & ((0xff << (8 - Math.min(8, Math.max(0, prefix - 8 * i)))) & 0xff),
    );
    return `${formatIp(n)}/${prefix}`;
  };

  it('decides as parseIp and inRange do, for any address text', () => {
    fc.assert(
      fc.property(fc.array(range, { minLength: 1, maxLength: 8 }), address, (ranges, text) => {
        const list = ranges.map(network);
        const c = compiled({ ipAllow: list });
        const bytes = parseIp(text);
        const expected = bytes !== undefined && list.some((r) => inRange(bytes, parseRange(r)!));
        expect(c.allows(source({ peer: text }))).toBe(expected);
      }),
      { numRuns: 3000 },
    );
  });
});
