import { deny } from 'keyward';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conformanceApps } from './apps.js';
import { type ConformanceServer, defaultVerify, KEYS, OWN_CACHE_CONTROL } from './fixture.js';
import { one, send, type WireResponse } from './wire.js';

// The behaviour of the foundation issue, written once and run unchanged against every
// adapter's app. An adapter that answers differently fails here: fix the adapter.

const WRONG = 'kw_wrong_0123456789abcdefghijklmnopqrstu';
const SECURE = { message: 'You have access to secure data', principal: 'good' };

function expectFailure(res: WireResponse, status: number, detail: string): void {
  expect({ status: res.status, body: res.body }).toEqual({ status, body: JSON.stringify({ detail }) });
  expect(one(res, 'content-type')).toBe('application/json');
  expect(one(res, 'cache-control')).toBe('no-store');
  if (status === 401) expect(one(res, 'www-authenticate')).toBe('APIKey');
  else expect(res.headers['www-authenticate']).toBeUndefined();
}

function expectNoEcho(res: WireResponse, secret: string): void {
  expect(res.body).not.toContain(secret);
  for (const values of Object.values(res.headers)) for (const v of values) expect(v).not.toContain(secret);
}

function expectJson(res: WireResponse, status: number, body: unknown): void {
  expect(res.status).toBe(status);
  expect(one(res, 'content-type')).toMatch(/^application\/json\b/);
  expect(JSON.parse(res.body)).toEqual(body);
}

describe.each(conformanceApps)('conformance: $name', (app) => {
  let server: ConformanceServer;
  beforeAll(async () => {
    server = await app.start({});
  });
  afterAll(() => server.close());

  const get = (target: string, lines: readonly string[] = []) => send(server.url, 'GET', target, lines);
  const post = (target: string, lines: readonly string[], body: string) =>
    send(server.url, 'POST', target, lines, body);
  const bodyReads = async () => JSON.parse((await get('/stats')).body).bodyReads as number;

  describe('public routes', () => {
    it('answers /health without a key', async () => {
      expectJson(await get('/health'), 200, { status: 'ok' });
    });

    it('answers unknown routes with a JSON 404, with or without a key', async () => {
      for (const lines of [[], [`X-API-Key: ${KEYS.good}`]]) {
        const res = await get('/no-such-route', lines);
        expect(res.status).toBe(404);
        expect(one(res, 'content-type')).toMatch(/^application\/json\b/);
        expect(() => JSON.parse(res.body)).not.toThrow();
      }
    });
  });

  describe('the key in each place', () => {
    it.each([
      ['header', '/secure-data', [`X-API-Key: ${KEYS.good}`]],
      ['cookie', '/secure-data', [`Cookie: X-API-KEY=${KEYS.good}`]],
      ['query', `/secure-data?x-api-key=${KEYS.good}`, []],
    ])('accepts a valid key in the %s', async (_place, target, lines) => {
      const res = await get(target, lines);
      expectJson(res, 200, SECURE);
      expect(one(res, 'cache-control')).toBe('no-store');
    });

    it('answers a missing key with 401 Not authenticated, the challenge and no-store', async () => {
      expectFailure(await get('/secure-data'), 401, 'Not authenticated');
    });

    it.each([
      ['header', '/secure-data', [`X-API-Key: ${WRONG}`]],
      ['cookie', '/secure-data', [`Cookie: X-API-KEY=${WRONG}`]],
      ['query', `/secure-data?x-api-key=${WRONG}`, []],
    ])(
      'answers a wrong key in the %s with 401 Invalid API Key, never echoing it',
      async (_p, target, lines) => {
        const res = await get(target, lines);
        expectFailure(res, 401, 'Invalid API Key');
        expectNoEcho(res, WRONG);
      },
    );

    it('rejects keys that cannot be keys (spaces, over-long) as invalid without echoing them', async () => {
      const long = `kw_${'x'.repeat(300)}`;
      for (const lines of [['X-API-Key: not a key'], [`X-API-Key: ${long}`]]) {
        const res = await get('/secure-data', lines);
        expectFailure(res, 401, 'Invalid API Key');
        expectNoEcho(res, long);
      }
    });

    it('reads a quoted or percent-encoded cookie and a percent-encoded query value', async () => {
      expectJson(await get('/secure-data', [`Cookie: X-API-KEY="${KEYS.good}"`]), 200, SECURE);
      expectJson(await get('/secure-data', [`Cookie: a=1; X-API-KEY=${KEYS.good}; b=2`]), 200, SECURE);
      const encoded = KEYS.good.replace(/_/g, '%5F');
      expectJson(await get(`/secure-data?x-api-key=${encoded}`), 200, SECURE);
      expectJson(await get(`/secure-data?x%2Dapi%2Dkey=${KEYS.good}`), 200, SECURE);
    });
  });

  describe('precedence: header, then cookie, then query; the first place with a key decides', () => {
    it('lets the header win over the cookie and the query', async () => {
      const res = await get(`/secure-data?x-api-key=${WRONG}`, [
        `X-API-Key: ${KEYS.good}`,
        `Cookie: X-API-KEY=${WRONG}`,
      ]);
      expectJson(res, 200, SECURE);
    });

    it('does not rescue a wrong header key with a right cookie or query key', async () => {
      const res = await get(`/secure-data?x-api-key=${KEYS.good}`, [
        `X-API-Key: ${WRONG}`,
        `Cookie: X-API-KEY=${KEYS.good}`,
      ]);
      expectFailure(res, 401, 'Invalid API Key');
    });

    it('lets the cookie win over the query, and does not rescue a wrong cookie key', async () => {
      expectJson(
        await get(`/secure-data?x-api-key=${WRONG}`, [`Cookie: X-API-KEY=${KEYS.good}`]),
        200,
        SECURE,
      );
      expectFailure(
        await get(`/secure-data?x-api-key=${KEYS.good}`, [`Cookie: X-API-KEY=${WRONG}`]),
        401,
        'Invalid API Key',
      );
    });

    it('identifies the principal by the key in the first place', async () => {
      const res = await get(`/secure-data?x-api-key=${KEYS.good}`, [`X-API-Key: ${KEYS.admin}`]);
      expectJson(res, 200, { ...SECURE, principal: 'admin' });
    });

    it('ignores a duplicate in a later place once an earlier place carries the key', async () => {
      const res = await get(`/secure-data?x-api-key=a&x-api-key=b`, [`X-API-Key: ${KEYS.good}`]);
      expectJson(res, 200, SECURE);
    });
  });

  describe('a key sent more than once in one place is refused, never resolved by picking one', () => {
    it.each([
      ['two header lines', '/secure-data', [`X-API-Key: ${KEYS.good}`, `X-API-Key: ${KEYS.good}`]],
      [
        'two header lines, names in other cases',
        '/secure-data',
        [`x-api-key: ${KEYS.good}`, `X-API-KEY: ${WRONG}`],
      ],
      ['a comma-joined header', '/secure-data', [`X-API-Key: ${KEYS.good}, ${KEYS.good}`]],
      ['two cookies in one line', '/secure-data', [`Cookie: X-API-KEY=${KEYS.good}; X-API-KEY=${KEYS.good}`]],
      ['two Cookie lines', '/secure-data', [`Cookie: X-API-KEY=${KEYS.good}`, `Cookie: X-API-KEY=${WRONG}`]],
      ['two query parameters', `/secure-data?x-api-key=${KEYS.good}&x-api-key=${KEYS.good}`, []],
    ])('%s: 400', async (_case, target, lines) => {
      const res = await get(target, lines);
      expectFailure(res, 400, 'API key sent more than once');
      expectNoEcho(res, KEYS.good);
      expectNoEcho(res, WRONG);
    });

    it('finds the key cookie on a second Cookie line', async () => {
      expectJson(await get('/secure-data', ['Cookie: a=1', `Cookie: X-API-KEY=${KEYS.good}`]), 200, SECURE);
    });
  });

  describe('empty values count as missing', () => {
    it.each([
      ['an empty header', '/secure-data', ['X-API-Key:']],
      ['a blank header', '/secure-data', ['X-API-Key:    ']],
      ['an empty cookie', '/secure-data', ['Cookie: X-API-KEY=']],
      ['an empty query value', '/secure-data?x-api-key=', []],
      ['a query name without a value', '/secure-data?x-api-key', []],
    ])('%s: 401 Not authenticated', async (_case, target, lines) => {
      expectFailure(await get(target, lines), 401, 'Not authenticated');
    });

    it('moves on to the next place after an empty one', async () => {
      expectJson(await get('/secure-data', ['X-API-Key:', `Cookie: X-API-KEY=${KEYS.good}`]), 200, SECURE);
      expectJson(await get(`/secure-data?x-api-key=${KEYS.good}`, ['Cookie: X-API-KEY=']), 200, SECURE);
    });
  });

  describe('names', () => {
    it.each(['x-api-key', 'X-API-KEY', 'x-Api-kEY'])(
      'matches the header name case-insensitively (%s)',
      async (name) => {
        expectJson(await get('/secure-data', [`${name}: ${KEYS.good}`]), 200, SECURE);
      },
    );

    it('matches the cookie name case-sensitively', async () => {
      for (const name of ['x-api-key', 'X-Api-Key']) {
        expectFailure(await get('/secure-data', [`Cookie: ${name}=${KEYS.good}`]), 401, 'Not authenticated');
      }
    });

    it('matches the query name case-sensitively', async () => {
      for (const name of ['X-API-KEY', 'X-Api-Key']) {
        expectFailure(await get(`/secure-data?${name}=${KEYS.good}`), 401, 'Not authenticated');
      }
    });

    it.each(['x-api-key[]', 'x-api-key[0]', 'x-api-key%5B%5D', 'x-api-key[key]'])(
      'does not take %s for the query parameter',
      async (name) => {
        expectFailure(await get(`/secure-data?${name}=${KEYS.good}`), 401, 'Not authenticated');
      },
    );

    it('does not read a cookie-like header or a query inside a fragment', async () => {
      expectFailure(await get('/secure-data', [`X-API-KEY-Cookie: ${KEYS.good}`]), 401, 'Not authenticated');
      expectFailure(await get(`/secure-data#?x-api-key=${KEYS.good}`), 401, 'Not authenticated');
    });
  });

  describe('optional auth (autoError: false)', () => {
    it('lets a request without a key through with no principal', async () => {
      expectJson(await get('/optional'), 200, { principal: null });
      expectJson(await get('/optional', ['X-API-Key:']), 200, { principal: null });
    });

    it('identifies a valid key', async () => {
      expectJson(await get('/optional', [`Cookie: X-API-KEY=${KEYS.good}`]), 200, { principal: 'good' });
    });

    it('still refuses a wrong or duplicated key', async () => {
      expectFailure(await get('/optional', [`X-API-Key: ${WRONG}`]), 401, 'Invalid API Key');
      expectFailure(await get('/optional?x-api-key=a&x-api-key=b'), 400, 'API key sent more than once');
    });
  });

  describe('scopes', () => {
    it('answers a valid key without the scope with 403 Insufficient scope, no challenge', async () => {
      expectFailure(await get('/admin-data', [`X-API-Key: ${KEYS.good}`]), 403, 'Insufficient scope');
    });

    it('lets a key with the scope through', async () => {
      const res = await get('/admin-data', [`X-API-Key: ${KEYS.admin}`]);
      expectJson(res, 200, { message: 'You have access to admin data' });
      expect(one(res, 'cache-control')).toBe('no-store');
    });

    it('answers 401 before looking at scopes', async () => {
      expectFailure(await get('/admin-data'), 401, 'Not authenticated');
      expectFailure(await get('/admin-data', [`X-API-Key: ${WRONG}`]), 401, 'Invalid API Key');
    });
  });

  describe('Cache-Control: no shared cache keeps an authenticated response', () => {
    it.each([
      ['/secure-data', [`X-API-Key: ${KEYS.good}`]],
      ['/secure-data', [`Cookie: X-API-KEY=${KEYS.good}`]],
      [`/secure-data?x-api-key=${KEYS.good}`, []],
      ['/admin-data', [`X-API-Key: ${KEYS.admin}`]],
      ['/optional', [`X-API-Key: ${KEYS.good}`]],
    ])('adds no-store to %s when the route sets none', async (target, lines) => {
      const res = await get(target, lines);
      expect(res.status).toBe(200);
      expect(one(res, 'cache-control')).toBe('no-store');
    });

    it('keeps the Cache-Control a route sets itself, once', async () => {
      const res = await get('/cached-data', [`X-API-Key: ${KEYS.good}`]);
      expectJson(res, 200, { message: 'cacheable' });
      expect(one(res, 'cache-control')).toBe(OWN_CACHE_CONTROL);
    });

    it('adds nothing to an anonymous request under optional auth, nor to a public route', async () => {
      for (const target of ['/optional', '/health']) {
        const res = await get(target);
        expect(res.status).toBe(200);
        expect(res.headers['cache-control']).toBeUndefined();
      }
    });
  });

  describe('request bodies', () => {
    it('never parses the body of a request that is not authenticated', async () => {
      const before = await bodyReads();
      const json = ['Content-Type: application/json'];
      expectFailure(await post('/echo', json, '{"a":1}'), 401, 'Not authenticated');
      expectFailure(await post('/echo', [...json, `X-API-Key: ${WRONG}`], '{"a":1}'), 401, 'Invalid API Key');
      // Not even broken JSON gets as far as the parser: the answer is the 401, not a 400.
      expectFailure(await post('/echo', json, '{not json'), 401, 'Not authenticated');
      expect(await bodyReads()).toBe(before);
    });

    it('parses it once authenticated', async () => {
      const before = await bodyReads();
      const res = await post(
        '/echo',
        ['Content-Type: application/json', `X-API-Key: ${KEYS.good}`],
        '{"a":[1,2]}',
      );
      expectJson(res, 200, { received: { a: [1, 2] } });
      expect(await bodyReads()).toBe(before + 1);
    });
  });
});

describe.each(conformanceApps)('conformance with the cacheControl option: $name', (app) => {
  let off: ConformanceServer;
  let other: ConformanceServer;
  beforeAll(async () => {
    [off, other] = await Promise.all([
      app.start({ cacheControl: false }),
      app.start({ cacheControl: 'private, no-cache' }),
    ]);
  });
  afterAll(() => Promise.all([off.close(), other.close()]));

  it('false: adds no Cache-Control to authenticated responses, keeps the route’s own and no-store on failures', async () => {
    const res = await send(off.url, 'GET', '/secure-data', [`X-API-Key: ${KEYS.good}`]);
    expectJson(res, 200, SECURE);
    expect(res.headers['cache-control']).toBeUndefined();
    const own = await send(off.url, 'GET', '/cached-data', [`X-API-Key: ${KEYS.good}`]);
    expect(one(own, 'cache-control')).toBe(OWN_CACHE_CONTROL);
    expectFailure(
      await send(off.url, 'GET', '/secure-data', [`X-API-Key: ${WRONG}`]),
      401,
      'Invalid API Key',
    );
  });

  it('a value: sends it instead of no-store, and the route’s own still wins', async () => {
    const res = await send(other.url, 'GET', '/secure-data', [`X-API-Key: ${KEYS.good}`]);
    expect(one(res, 'cache-control')).toBe('private, no-cache');
    const own = await send(other.url, 'GET', '/cached-data', [`X-API-Key: ${KEYS.good}`]);
    expect(one(own, 'cache-control')).toBe(OWN_CACHE_CONTROL);
  });
});

describe.each(conformanceApps)('conformance with other verifiers: $name', (app) => {
  describe('an async verifier', () => {
    let server: ConformanceServer;
    beforeAll(async () => {
      const sync = defaultVerify();
      server = await app.start({ verify: async (key, context) => sync(key, context) });
    });
    afterAll(() => server.close());

    it('behaves as the sync one', async () => {
      expectJson(await send(server.url, 'GET', '/secure-data', [`X-API-Key: ${KEYS.good}`]), 200, SECURE);
      expectFailure(
        await send(server.url, 'GET', '/secure-data', [`X-API-Key: ${WRONG}`]),
        401,
        'Invalid API Key',
      );
      expectFailure(
        await send(server.url, 'GET', '/admin-data', [`X-API-Key: ${KEYS.good}`]),
        403,
        'Insufficient scope',
      );
      expectJson(await send(server.url, 'GET', '/optional'), 200, { principal: null });
      const before = JSON.parse((await send(server.url, 'GET', '/stats')).body).bodyReads;
      await send(server.url, 'POST', '/echo', [`X-API-Key: ${WRONG}`], '{}');
      expect(JSON.parse((await send(server.url, 'GET', '/stats')).body).bodyReads).toBe(before);
    });
  });

  describe('a verifier that refuses with its own reason', () => {
    let server: ConformanceServer;
    beforeAll(async () => {
      server = await app.start({
        verify: () => deny('rate_limited', 30, { 'ratelimit-policy': '"k";q=10;w=60' }),
      });
    });
    afterAll(() => server.close());

    it('gets its status, Retry-After and extra headers written as they are', async () => {
      const res = await send(server.url, 'GET', '/secure-data', [`X-API-Key: ${KEYS.good}`]);
      expectFailure(res, 429, 'Too many requests');
      expect(one(res, 'retry-after')).toBe('30');
      expect(one(res, 'ratelimit-policy')).toBe('"k";q=10;w=60');
    });
  });

  describe('a verifier that throws', () => {
    let server: ConformanceServer;
    beforeAll(async () => {
      server = await app.start({
        verify: () => {
          throw new Error('database is down');
        },
      });
    });
    afterAll(() => server.close());

    it('fails closed with a JSON 503, never a 500 or a pass', async () => {
      const res = await send(server.url, 'GET', '/secure-data', [`X-API-Key: ${KEYS.good}`]);
      expectFailure(res, 503, 'Authentication temporarily unavailable');
      expect(res.body).not.toContain('database');
    });
  });
});

// FastAPI's `HTTPBearer`, first among the alternatives: `Authorization: Bearer <key>`.
describe.each(conformanceApps)('conformance with a bearer scheme: $name', (app) => {
  let server: ConformanceServer;
  beforeAll(async () => {
    server = await app.start({ bearer: true });
  });
  afterAll(() => server.close());
  const get = (target: string, lines: readonly string[] = []) => send(server.url, 'GET', target, lines);

  function expectBearerFailure(res: WireResponse, detail: string): void {
    expect({ status: res.status, body: res.body }).toEqual({ status: 401, body: JSON.stringify({ detail }) });
    expect(one(res, 'cache-control')).toBe('no-store');
    expect(one(res, 'www-authenticate')).toBe('Bearer, APIKey');
  }

  it.each(['Bearer', 'bearer', 'BEARER'])('accepts the key after the auth-scheme %s', async (word) => {
    expectJson(await get('/secure-data', [`Authorization: ${word} ${KEYS.good}`]), 200, SECURE);
  });

  it('still accepts the key in the other places', async () => {
    expectJson(await get('/secure-data', [`X-API-Key: ${KEYS.good}`]), 200, SECURE);
  });

  it('answers no key, an empty bearer or another auth-scheme as missing, challenging Bearer', async () => {
    for (const lines of [
      [],
      ['Authorization: Bearer'],
      ['Authorization: Bearer   '],
      [`Authorization: Basic ${KEYS.good}`],
      [`Authorization: ${KEYS.good}`],
    ]) {
      expectBearerFailure(await get('/secure-data', lines), 'Not authenticated');
    }
  });

  it('answers a wrong bearer key with 401 Invalid API Key, never echoing it, and no rescue from elsewhere', async () => {
    const res = await get('/secure-data', [`Authorization: Bearer ${WRONG}`, `X-API-Key: ${KEYS.good}`]);
    expectBearerFailure(res, 'Invalid API Key');
    expectNoEcho(res, WRONG);
  });

  it('moves on to the next place after another auth-scheme', async () => {
    expectJson(
      await get('/secure-data', ['Authorization: Basic dXNlcjpwYXNz', `X-API-Key: ${KEYS.good}`]),
      200,
      SECURE,
    );
  });

  it('refuses two bearer keys and a key with spaces', async () => {
    const twice = await get('/secure-data', [
      `Authorization: Bearer ${KEYS.good}`,
      `Authorization: Bearer ${KEYS.admin}`,
    ]);
    expect(twice.status).toBe(400);
    expectBearerFailure(
      await get('/secure-data', [`Authorization: Bearer ${KEYS.good} x`]),
      'Invalid API Key',
    );
  });

  it('answers 403 without a challenge for a key without the scope', async () => {
    const res = await get('/admin-data', [`Authorization: Bearer ${KEYS.good}`]);
    expectFailure(res, 403, 'Insufficient scope');
    expectJson(await get('/admin-data', [`Authorization: Bearer ${KEYS.admin}`]), 200, {
      message: 'You have access to admin data',
    });
  });

  it('lets optional auth through without a key, and identifies a bearer key', async () => {
    expectJson(await get('/optional'), 200, { principal: null });
    expectJson(await get('/optional', [`Authorization: Bearer ${KEYS.admin}`]), 200, { principal: 'admin' });
  });
});
