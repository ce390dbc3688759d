import { compileRestrictions } from 'keyward';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conformanceApps } from '../conformance/apps.js';
import type { ConformanceServer, TestPrincipal } from '../conformance/fixture.js';
import { httpRequest, rawRequest } from './raw.js';
import { assertOutcome, BEFORE_APP, DATA, type HostileCase, NO_ROUTE, type Outcome } from './suite.js';

// Hostile spellings against restricted keys, on every adapter: a key allowed only
// `GET /secure-data` (it holds the admin scope) must never reach admin data however the
// path is written, and a key allowed only from 203.0.113.0/24 or only from one origin
// must never get through by what the request claims about itself.

const ROUTE_KEY = 'kw_routeonly_xxxxxxxxxxxxxxxxxxxxxxxxxxx';
const ADDRESS_KEY = 'kw_addressonly_xxxxxxxxxxxxxxxxxxxxxxxxx';
const ORIGIN_KEY = 'kw_originonly_xxxxxxxxxxxxxxxxxxxxxxxxxx';
const principals = new Map<string, TestPrincipal & { restrictions: unknown }>([
  [
    ROUTE_KEY,
    {
      id: 'good',
      scopes: ['read', 'admin'],
      restrictions: compileRestrictions({ routes: ['GET /secure-data'] }),
    },
  ],
  [
    ADDRESS_KEY,
    { id: 'good', scopes: ['read'], restrictions: compileRestrictions({ ipAllow: ['203.0.113.0/24'] }) },
  ],
  [
    ORIGIN_KEY,
    {
      id: 'good',
      scopes: ['read'],
      restrictions: compileRestrictions({ originAllow: ['https://app.example.com'] }),
    },
  ],
]);

const RESTRICTED: Outcome = { kind: 'json', status: 403, body: { detail: 'API key not allowed here' } };
// Never ADMIN_DATA: the key is not allowed there, whatever the spelling.
const NOT_ADMIN = [RESTRICTED, NO_ROUTE, BEFORE_APP];

const route = (target: string, expect: Outcome | readonly Outcome[]): HostileCase => ({
  name: `route key: GET ${target}`,
  request: httpRequest('GET', target, [`X-API-Key: ${ROUTE_KEY}`]),
  expect,
  secrets: [ROUTE_KEY],
});

const cases: HostileCase[] = [
  route('/secure-data', DATA),
  route('/admin-data', RESTRICTED),
  route('/admin-data/', NOT_ADMIN),
  route('/ADMIN-DATA', NOT_ADMIN),
  route('/%61dmin-data', NOT_ADMIN),
  route('//admin-data', NOT_ADMIN),
  route('/./admin-data', NOT_ADMIN),
  route('/secure-data/../admin-data', NOT_ADMIN),
  route('/secure-data/%2e%2e/admin-data', NOT_ADMIN),
  route('/secure-data%2f..%2fadmin-data', NOT_ADMIN),
  route('/secure-data/..%2fadmin-data', NOT_ADMIN),
  route('/admin-data?/secure-data', NOT_ADMIN),
  route('/admin-data#/secure-data', NOT_ADMIN),
  route('/admin-data;/secure-data', NOT_ADMIN),
  route('http://127.0.0.1/admin-data', NOT_ADMIN),
  {
    name: 'route key: POST /secure-data (another method)',
    request: httpRequest(
      'POST',
      '/secure-data',
      [`X-API-Key: ${ROUTE_KEY}`, 'Content-Type: application/json'],
      '{}',
    ),
    expect: [RESTRICTED, NO_ROUTE],
    secrets: [ROUTE_KEY],
  },
  ...[
    ['X-Forwarded-For: 203.0.113.9'],
    ['X-Forwarded-For: 203.0.113.9, 203.0.113.9'],
    ['X-Real-IP: 203.0.113.9'],
    ['Forwarded: for=203.0.113.9'],
    ['CF-Connecting-IP: 203.0.113.9'],
  ].map(
    (lines): HostileCase => ({
      name: `address key: spoofed ${lines[0]}`,
      request: httpRequest('GET', '/secure-data', [`X-API-Key: ${ADDRESS_KEY}`, ...lines]),
      expect: RESTRICTED,
      secrets: [ADDRESS_KEY],
    }),
  ),
  ...[
    ['Origin: https://app.example.com.evil.test'],
    ['Origin: https://app.example.com', 'Origin: https://evil.test'],
    ['Origin: https://evil.test, https://app.example.com'],
    ['Origin: null', 'Referer: https://app.example.com/'],
    ['Referer: https://app.example.com@evil.test/'],
    ['Referer: https://evil.test/?https://app.example.com'],
    ['Referer: https://app.example.com\\@evil.test/'],
    ['Origin: https://app.example.com:8443'],
    ['Origin: http://app.example.com'],
  ].map(
    (lines): HostileCase => ({
      name: `origin key: ${lines.join(' | ')}`,
      request: httpRequest('GET', '/secure-data', [`X-API-Key: ${ORIGIN_KEY}`, ...lines]),
      expect: [RESTRICTED, BEFORE_APP],
      secrets: [ORIGIN_KEY],
    }),
  ),
];

describe.each(conformanceApps.map((app) => ({ name: app.name, app })))(
  'restricted keys, hostile ($name)',
  ({ app }) => {
    let server: ConformanceServer;
    beforeAll(async () => {
      server = await app.start({ verify: (key) => principals.get(key) ?? null });
    });
    afterAll(() => server?.close());

    it.each(cases.map((c) => ({ name: c.name, c })))('$name', async ({ c }) => {
      const res = await rawRequest(server.url, c.request);
      assertOutcome(res, c);
      expect(res.body).not.toContain('admin data');
    });
  },
);
