// The hostile-input suite against the admin API (real HTTP, raw bytes, SQLite): duplicated
// and smuggled credentials, encodings, sizes, routing tricks, hostile JSON and query
// strings, forged dashboard cookies. Every answer: never a 5xx, never a key echoed, always
// JSON (problem details) unless Node's parser refused the request before the app, and
// the exact status where one is due. Nothing changes in the store unless a valid root
// key with the scope asked for it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminFixture, startAdmin } from '../admin/fixture.js';
import { httpRequest, type RawResponse, rawRequest } from './raw.js';

let admin: AdminFixture;
let root: string;
let reader: string;
const WRONG = 'kw_wrong_0123456789abcdefghijklmnopqrstu';

beforeAll(async () => {
  admin = await startAdmin('sqlite');
  root = admin.roots.all!.key;
  reader = admin.roots['keyward:keys:read']!.key;
});
afterAll(() => admin.close());

interface Case {
  name: string;
  request: () => string | Buffer;
  /** Allowed statuses; 0 is "Node's parser answered before the app" (400/431, empty body). */
  status: readonly number[];
  code?: string;
}

const json = (body: unknown) => (typeof body === 'string' ? body : JSON.stringify(body));
const post = (target: string, lines: string[], body: unknown) =>
  httpRequest('POST', target, ['Content-Type: application/json', ...lines], json(body));

function check(res: RawResponse, c: Case, secrets: readonly string[]) {
  const got = `${c.name}: got ${res.status} ${JSON.stringify(res.body.slice(0, 200))}`;
  expect(res.status, got).toBeGreaterThan(0);
  expect(res.status, got).toBeLessThan(500);
  for (const secret of secrets) {
    for (const form of new Set([secret, encodeURIComponent(secret)])) {
      expect(res.head.includes(form), `${c.name}: key echoed in the head`).toBe(false);
      expect(res.body.includes(form), `${c.name}: key echoed in the body`).toBe(false);
    }
  }
  const beforeApp = (res.status === 400 || res.status === 431) && res.body === '';
  if (!beforeApp && res.body !== '') {
    expect(res.headers['content-type']?.[0], got).toMatch(/^application\/(problem\+)?json/);
  }
  const allowed = c.status.includes(res.status) || (c.status.includes(0) && beforeApp);
  expect(allowed, `${got}; expected ${c.status.join(' or ')}`).toBe(true);
  if (c.code && !beforeApp) expect(JSON.parse(res.body).code, got).toBe(c.code);
  if (res.status === 401) expect(res.headers['www-authenticate']?.[0], got).toBe('Bearer, APIKey');
}

const cases = (): Case[] => [
  // Credentials sent twice, or in two places that disagree.
  {
    name: 'two Authorization lines',
    request: () =>
      httpRequest('GET', '/v1/keys', [`Authorization: Bearer ${root}`, `Authorization: Bearer ${root}`]),
    status: [400],
    code: 'duplicate',
  },
  {
    name: 'two bearer tokens in one line',
    request: () => httpRequest('GET', '/v1/keys', [`Authorization: Bearer ${root}, Bearer ${root}`]),
    status: [400],
    code: 'duplicate',
  },
  {
    name: 'a wrong bearer is not rescued by a right X-API-Key',
    request: () => httpRequest('GET', '/v1/keys', [`Authorization: Bearer ${WRONG}`, `X-API-Key: ${root}`]),
    status: [401],
    code: 'invalid',
  },
  {
    name: 'Basic, then a right X-API-Key: the key decides',
    request: () =>
      httpRequest('GET', '/v1/keys?limit=1', ['Authorization: Basic dXNlcjpwYXNz', `X-API-Key: ${root}`]),
    status: [200],
  },
  {
    name: 'two X-API-Key lines',
    request: () => httpRequest('GET', '/v1/keys', [`X-API-Key: ${root}`, `X-API-Key: ${WRONG}`]),
    status: [400],
    code: 'duplicate',
  },
  {
    name: 'a reader key with a writer-looking header',
    request: () => post('/v1/keys', [`X-API-Key: ${reader}`, 'X-Scopes: keyward:*'], { name: 'x' }),
    status: [403],
    code: 'insufficient_scope',
  },
  // Encodings of the key.
  {
    name: 'percent-encoded bearer',
    request: () =>
      httpRequest('GET', '/v1/keys', [`Authorization: Bearer ${encodeURIComponent(`${root}=`)}`]),
    status: [401],
    code: 'invalid',
  },
  {
    name: 'bearer with a NUL byte',
    request: () => httpRequest('GET', '/v1/keys', [`Authorization: Bearer ${root}\u0000`]),
    status: [0, 400, 401],
  },
  {
    name: 'bearer with latin-1 bytes',
    request: () => httpRequest('GET', '/v1/keys', [`Authorization: Bearer ${root.slice(0, -1)}\u00e9`]),
    status: [401],
    code: 'invalid',
  },
  {
    name: 'bearer of 10,000 characters',
    request: () => httpRequest('GET', '/v1/keys', [`Authorization: Bearer ${'a'.repeat(10_000)}`]),
    status: [401],
    code: 'invalid',
  },
  {
    name: 'bearer with tab separator',
    request: () => httpRequest('GET', '/v1/keys', [`Authorization: Bearer\t${root}`]),
    status: [401],
    code: 'missing',
  },
  {
    name: 'a head of 100 KB',
    request: () =>
      httpRequest('GET', '/v1/keys', [`X-Pad: ${'p'.repeat(100_000)}`, `Authorization: Bearer ${root}`]),
    status: [0, 431],
  },
  // Routing tricks.
  {
    name: 'dot segments to the audit log',
    request: () => httpRequest('GET', '/v1/keys/../audit', [`Authorization: Bearer ${reader}`]),
    status: [403, 404],
  },
  {
    name: 'encoded slash in an id',
    request: () => httpRequest('GET', '/v1/keys/key_a%2F..%2Faudit', [`Authorization: Bearer ${root}`]),
    status: [404],
  },
  {
    name: 'double slash',
    request: () => httpRequest('GET', '//v1/keys', [`Authorization: Bearer ${root}`]),
    status: [404],
  },
  {
    name: 'upper-case path',
    request: () => httpRequest('GET', '/V1/KEYS', [`Authorization: Bearer ${root}`]),
    status: [404],
  },
  {
    name: 'a pasted key as the id',
    request: () => httpRequest('GET', `/v1/keys/${root}`, [`Authorization: Bearer ${root}`]),
    status: [404],
    code: 'key_not_found',
  },
  {
    name: 'X-Original-URL does not reroute',
    request: () =>
      httpRequest('GET', '/v1/openapi.json', ['X-Original-URL: /v1/keys', 'X-Rewrite-URL: /v1/keys']),
    status: [200],
  },
  {
    name: 'TRACE',
    request: () => httpRequest('TRACE', '/v1/keys', [`Authorization: Bearer ${root}`]),
    status: [0, 404, 405],
  },
  {
    name: 'method override header',
    request: () =>
      httpRequest('GET', `/v1/keys/${admin.roots.none!.id}`, [
        `Authorization: Bearer ${root}`,
        'X-HTTP-Method-Override: DELETE',
      ]),
    status: [200],
  },
  // Hostile JSON.
  {
    name: 'JSON nested 100,000 deep',
    request: () =>
      post('/v1/keys', [`Authorization: Bearer ${root}`], `${'['.repeat(100_000)}${']'.repeat(100_000)}`),
    status: [413],
  },
  {
    name: 'JSON nested 5,000 deep in metadata',
    request: () =>
      post(
        '/v1/keys',
        [`Authorization: Bearer ${root}`],
        `{"name":"deep","metadata":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`,
      ),
    status: [400],
    code: 'invalid_input',
  },
  {
    name: '__proto__ in the body',
    request: () =>
      post(
        '/v1/keys',
        [`Authorization: Bearer ${root}`],
        '{"name":"proto","__proto__":{"scopes":["keyward:*"]}}',
      ),
    status: [400],
    code: 'invalid_input',
  },
  {
    name: 'constructor.prototype in metadata',
    request: () =>
      post(
        '/v1/keys',
        [`Authorization: Bearer ${root}`],
        '{"name":"ctor","metadata":{"constructor":{"prototype":{"admin":true}}}}',
      ),
    status: [201],
  },
  {
    name: 'a key in a field name',
    request: () => post('/v1/keys', [`Authorization: Bearer ${root}`], `{"name":"x","${root}":1}`),
    status: [400],
    code: 'invalid_input',
  },
  {
    name: 'a key in the name',
    request: () => post('/v1/keys', [`Authorization: Bearer ${root}`], { name: root }),
    status: [400],
    code: 'invalid_input',
  },
  {
    name: 'invalid UTF-8',
    request: () =>
      Buffer.concat([
        Buffer.from(
          httpRequest('POST', '/v1/keys', [
            `Authorization: Bearer ${root}`,
            'Content-Type: application/json',
            'Content-Length: 13',
          ]).replace(/Connection: close\r\n\r\n$/, 'Connection: close\r\n\r\n'),
          'latin1',
        ),
        Buffer.from([0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
      ]),
    status: [400],
    code: 'invalid_json',
  },
  {
    name: 'a number too large for uses',
    request: () => post('/v1/keys', [`Authorization: Bearer ${root}`], '{"name":"big","uses":1e400}'),
    status: [400],
    code: 'invalid_input',
  },
  {
    name: 'uses as a string',
    request: () => post('/v1/keys', [`Authorization: Bearer ${root}`], '{"name":"s","uses":"10"}'),
    status: [400],
    code: 'invalid_input',
  },
  {
    name: 'expiresAt far in the past',
    request: () =>
      post(
        '/v1/keys',
        [`Authorization: Bearer ${root}`],
        '{"name":"past","expiresAt":"1970-01-01T00:00:00Z"}',
      ),
    status: [400, 201],
  },
  {
    name: 'a 2 MB body',
    request: () =>
      post('/v1/keys', [`Authorization: Bearer ${root}`], {
        name: 'x',
        metadata: { pad: 'x'.repeat(2_000_000) },
      }),
    status: [413],
    code: 'payload_too_large',
  },
  {
    name: 'a Content-Length that lies (longer)',
    request: () =>
      `${httpRequest('POST', '/v1/keys', [`Authorization: Bearer ${root}`, 'Content-Type: application/json', 'Content-Length: 100000000'])}{"name":"x"}`,
    status: [413],
    code: 'payload_too_large',
  },
  {
    name: 'JSON declared as text/plain',
    request: () =>
      httpRequest(
        'POST',
        '/v1/keys',
        [`Authorization: Bearer ${root}`, 'Content-Type: text/plain'],
        '{"name":"x"}',
      ),
    status: [415],
  },
  {
    name: 'a form post to the API',
    request: () =>
      httpRequest(
        'POST',
        '/v1/keys',
        [`Authorization: Bearer ${root}`, 'Content-Type: application/x-www-form-urlencoded'],
        'name=x',
      ),
    status: [415],
  },
  // Query strings.
  {
    name: 'limit twice',
    request: () => httpRequest('GET', '/v1/keys?limit=1&limit=1000', [`Authorization: Bearer ${root}`]),
    status: [400],
    code: 'invalid_input',
  },
  {
    name: 'limit as an array',
    request: () => httpRequest('GET', '/v1/keys?limit[]=1', [`Authorization: Bearer ${root}`]),
    status: [200],
  },
  {
    name: 'limit as -1, 1e3, 0x10',
    request: () => httpRequest('GET', '/v1/keys?limit=0x10', [`Authorization: Bearer ${root}`]),
    status: [400],
    code: 'invalid_input',
  },
  {
    name: 'a NUL in q',
    request: () => httpRequest('GET', '/v1/keys?q=a%00b', [`Authorization: Bearer ${root}`]),
    status: [400],
    code: 'invalid_input',
  },
  {
    name: 'a lone surrogate in q',
    request: () => httpRequest('GET', '/v1/keys?q=%ED%A0%80', [`Authorization: Bearer ${root}`]),
    status: [200, 400],
  },
  {
    name: 'SQL in q',
    request: () => httpRequest('GET', '/v1/keys?q=%27%20OR%201%3D1%20--', [`Authorization: Bearer ${root}`]),
    status: [200],
  },
  {
    name: 'LIKE wildcards in q',
    request: () => httpRequest('GET', '/v1/keys?q=%25_%25', [`Authorization: Bearer ${root}`]),
    status: [200],
  },
  {
    name: 'a forged cursor',
    request: () =>
      httpRequest('GET', `/v1/keys?cursor=${Buffer.from("' OR 1=1").toString('base64url')}`, [
        `Authorization: Bearer ${root}`,
      ]),
    status: [400],
    code: 'invalid_input',
  },
  {
    name: 'a malformed percent escape',
    request: () => httpRequest('GET', '/v1/keys?q=%E0%A4%A', [`Authorization: Bearer ${root}`]),
    status: [200, 400],
  },
  {
    name: 'a huge audit cursor',
    request: () =>
      httpRequest('GET', `/v1/audit?cursor=${Buffer.from('9'.repeat(400)).toString('base64url')}`, [
        `Authorization: Bearer ${root}`,
      ]),
    status: [400],
    code: 'invalid_input',
  },
  // Idempotency keys.
  {
    name: 'an Idempotency-Key of 300 characters',
    request: () =>
      post('/v1/keys', [`Authorization: Bearer ${root}`, `Idempotency-Key: ${'k'.repeat(300)}`], {
        name: 'x',
      }),
    status: [400],
    code: 'invalid_input',
  },
  {
    name: 'two Idempotency-Key lines',
    request: () =>
      post('/v1/keys', [`Authorization: Bearer ${root}`, 'Idempotency-Key: a', 'Idempotency-Key: b'], {
        name: 'x',
      }),
    status: [400],
    code: 'invalid_input',
  },
  // The dashboard's cookie and forms.
  {
    name: 'a forged session cookie',
    request: () => httpRequest('GET', '/v1/keys', [`Cookie: keyward_admin=${'A'.repeat(43)}`]),
    status: [401],
    code: 'missing',
  },
  {
    name: 'a session cookie twice',
    request: () => httpRequest('GET', '/v1/keys', ['Cookie: keyward_admin=a; keyward_admin=b']),
    status: [401],
  },
  {
    name: 'sign-in from another site',
    request: () =>
      httpRequest(
        'POST',
        '/dashboard/sign-in',
        ['Content-Type: application/x-www-form-urlencoded', 'Origin: https://evil.example'],
        `key=${root}`,
      ),
    status: [403],
    code: 'csrf',
  },
  {
    name: 'sign-in with Sec-Fetch-Site: cross-site',
    request: () =>
      httpRequest(
        'POST',
        '/dashboard/sign-in',
        ['Content-Type: application/x-www-form-urlencoded', 'Sec-Fetch-Site: cross-site'],
        `key=${root}`,
      ),
    status: [403],
    code: 'csrf',
  },
  {
    name: 'sign-in with a huge form',
    request: () =>
      httpRequest(
        'POST',
        '/dashboard/sign-in',
        ['Content-Type: application/x-www-form-urlencoded'],
        `key=${'k'.repeat(10_000)}`,
      ),
    status: [413],
  },
  {
    name: 'an unknown asset',
    request: () => httpRequest('GET', '/dashboard/assets/..%2F..%2Fpackage.json'),
    status: [404],
  },
];

describe('hostile input against the admin API', () => {
  const all = cases();
  it.each(all.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const before = (await admin.manager.list({ limit: 1000 })).items.length;
    const res = await rawRequest(admin.url, c.request(), { timeoutMs: 10_000 });
    check(res, c, [root, reader, WRONG, admin.roots.none!.key]);
    const after = (await admin.manager.list({ limit: 1000 })).items.length;
    if (res.status !== 201) expect(after, `${c.name}: nothing created`).toBe(before);
  });

  it('left no key revoked, deleted or changed by a refused request', async () => {
    for (const { id } of Object.values(admin.roots)) {
      const record = await admin.manager.get(id);
      expect(record.revokedAt).toBeNull();
      expect(record.enabled).toBe(true);
    }
  });
});
