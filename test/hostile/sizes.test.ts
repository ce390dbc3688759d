import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conformanceApps } from '../conformance/apps.js';
import { type ConformanceServer, KEYS } from '../conformance/fixture.js';
import { httpRequest, rawRequest } from './raw.js';
import { BEFORE_APP, DATA, type HostileCase, hostileSuite, INVALID, MISSING } from './suite.js';

// Sizes: keys longer than 256 characters are refused before any hashing or lookup (the
// verifier never runs); heads past Node's 16 KiB limit are refused by Node with a 431
// before any app code; a request without a key never has its body read.
const K = KEYS.good;
const get = (target: string, ...lines: string[]) => httpRequest('GET', target, lines);
const long = (n: number) => `kw_${'A'.repeat(n - 3)}`;
const tooLong = (name: string, request: string, key: string): HostileCase => ({
  name,
  request,
  expect: INVALID,
  verifyCalls: 0,
  secrets: [key],
});

const fillerHeaders = (n: number) => Array.from({ length: n }, () => 'a:1');

const cases: HostileCase[] = [
  {
    name: 'header key of 256 characters (the limit) is verified',
    request: get('/secure-data', `X-API-Key: ${long(256)}`),
    expect: INVALID,
    verifyCalls: 1,
    secrets: [long(256)],
  },
  tooLong('header key of 257 characters', get('/secure-data', `X-API-Key: ${long(257)}`), long(257)),
  tooLong('header key of 4 KiB', get('/secure-data', `X-API-Key: ${long(4096)}`), long(4096)),
  tooLong('header key of 12 KiB', get('/secure-data', `X-API-Key: ${long(12_000)}`), long(12_000)),
  tooLong(
    'the valid key repeated to 300 characters',
    get('/secure-data', `X-API-Key: ${K.repeat(8)}`),
    K.repeat(8),
  ),
  tooLong('cookie key of 257 characters', get('/secure-data', `Cookie: X-API-KEY=${long(257)}`), long(257)),
  tooLong('cookie key of 12 KiB', get('/secure-data', `Cookie: X-API-KEY=${long(12_000)}`), long(12_000)),
  tooLong('query key of 257 characters', get(`/secure-data?x-api-key=${long(257)}`), long(257)),
  tooLong('query key of 12 KiB', get(`/secure-data?x-api-key=${long(12_000)}`), long(12_000)),
  tooLong(
    'query key of 257 characters, percent-encoded to 3 bytes each',
    get(`/secure-data?x-api-key=${'%41'.repeat(257)}`),
    'A'.repeat(257),
  ),
  {
    name: 'header past 16 KiB',
    request: get('/secure-data', `X-API-Key: ${long(17_000)}`),
    expect: BEFORE_APP,
    secrets: [long(17_000)],
  },
  {
    name: 'request target past 16 KiB',
    request: get(`/secure-data?x-api-key=${long(17_000)}`),
    expect: BEFORE_APP,
    secrets: [long(17_000)],
  },
  {
    name: 'request target of 64 KiB',
    request: get(`/secure-data?pad=${'p'.repeat(65_536)}&x-api-key=${K}`),
    expect: BEFORE_APP,
  },
  {
    name: 'many small headers past 16 KiB',
    request: get(
      '/secure-data',
      ...fillerHeaders(1000).map((l) => `${l}${'1'.repeat(20)}`),
      `X-API-Key: ${K}`,
    ),
    expect: BEFORE_APP,
  },
  {
    name: 'a thousand cookies, the key last',
    request: get(
      '/secure-data',
      `Cookie: ${Array.from({ length: 1000 }, (_, i) => `c${i}=1`).join('; ')}; X-API-KEY=${K}`,
    ),
    expect: DATA,
  },
  {
    name: 'a thousand cookies, the key twice far apart',
    request: get(
      '/secure-data',
      `Cookie: X-API-KEY=${K}; ${Array.from({ length: 1000 }, (_, i) => `c${i}=1`).join('; ')}; X-API-KEY=${K}`,
    ),
    expect: { kind: 'json', status: 400, body: { detail: 'API key sent more than once' } },
  },
  {
    name: 'three thousand query parameters, the key last',
    request: get(`/secure-data?${'a=1&'.repeat(3000)}x-api-key=${K}`),
    expect: DATA,
  },
  {
    name: 'three thousand array-syntax parameters',
    request: get(`/secure-data?${`x-api-key[]=${K}&`.repeat(200)}`),
    expect: MISSING,
  },
  // Node keeps the first 2000 header lines (http.Server maxHeadersCount) and drops the rest
  // unseen: a key line past them does not exist for any framework. Pinned so a change in
  // Node or an adapter that starts to see them is noticed.
  {
    name: 'key header after 2000 other header lines is dropped by Node',
    request: get('/secure-data', ...fillerHeaders(2000), `X-API-Key: ${K}`),
    expect: MISSING,
  },
  {
    name: 'duplicate key header after 2000 lines is dropped by Node',
    request: get('/secure-data', `X-API-Key: ${K}`, ...fillerHeaders(2000), 'X-API-Key: x'),
    expect: DATA,
  },
  { name: 'empty header value', request: get('/secure-data', 'X-API-Key:'), expect: MISSING },
  {
    name: 'one-character key is verified',
    request: get('/secure-data', 'X-API-Key: k'),
    expect: INVALID,
    verifyCalls: 1,
  },
];

hostileSuite('sizes', cases);

describe.each(conformanceApps.map((app) => ({ name: app.name, app })))('sizes: bodies ($name)', ({ app }) => {
  let server: ConformanceServer | undefined;
  beforeAll(async () => {
    server = await app.start({});
  });
  afterAll(async () => {
    await server?.close();
  });

  it('never reads the body of a request without a valid key, however large', async () => {
    const body = JSON.stringify({ pad: 'x'.repeat(256 * 1024) });
    const json = ['Content-Type: application/json'];
    const missing = await rawRequest(server!.url, httpRequest('POST', '/echo', json, body));
    expect([missing.status, missing.body]).toEqual([401, '{"detail":"Not authenticated"}']);
    const wrong = await rawRequest(
      server!.url,
      httpRequest('POST', '/echo', [...json, 'X-API-Key: x'], body),
    );
    expect([wrong.status, wrong.body]).toEqual([401, '{"detail":"Invalid API Key"}']);
    const chunked = await rawRequest(
      server!.url,
      'POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n4\r\n{"a"\r\n3\r\n:1}\r\n0\r\n\r\n',
    );
    expect([chunked.status, chunked.body]).toEqual([401, '{"detail":"Not authenticated"}']);
    const stats = await rawRequest(server!.url, httpRequest('GET', '/stats'));
    expect(JSON.parse(stats.body)).toEqual({ bodyReads: 0 });
  });

  it('reads the body once the key is valid (so the counter above means something)', async () => {
    const res = await rawRequest(
      server!.url,
      httpRequest('POST', '/echo', ['Content-Type: application/json', `X-API-Key: ${K}`], '{"a":1}'),
    );
    expect(JSON.parse(res.body)).toEqual({ received: { a: 1 } });
    const stats = await rawRequest(server!.url, httpRequest('GET', '/stats'));
    expect(JSON.parse(stats.body)).toEqual({ bodyReads: 1 });
  });
});
