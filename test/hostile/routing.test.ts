import { KEYS } from '../conformance/fixture.js';
import { httpRequest } from './raw.js';
import {
  ADMIN_DATA,
  BEFORE_APP,
  CLOSED,
  DATA,
  FORBIDDEN,
  HEALTH,
  type HostileCase,
  hostileSuite,
  MISSING,
  NO_ROUTE,
} from './suite.js';

// Routing: every method and every spelling of a protected path, in each framework's
// default router configuration. A variant may reach the route (then the guard answers
// 401 without a key, 403 without the scope) or no route (a JSON 404/405); it may never
// reach protected data without a valid key, nor admin data without the admin scope.
const K = KEYS.good;

const METHODS = [
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
  'TRACE',
  'PROPFIND',
  'SEARCH',
  'PURGE',
  'LINK',
  'REPORT',
];

const methodCases: HostileCase[] = [
  { name: 'GET without a key', request: httpRequest('GET', '/secure-data'), expect: MISSING },
  // Hono, Express and Fastify answer HEAD through the GET route; the hand-routed node:http
  // and fetch apps do not route HEAD at all. Either way the guard is not skipped.
  { name: 'HEAD without a key', request: httpRequest('HEAD', '/secure-data'), expect: [MISSING, NO_ROUTE] },
  {
    name: 'HEAD with the key',
    request: httpRequest('HEAD', '/secure-data', [`X-API-Key: ${K}`]),
    expect: [DATA, NO_ROUTE],
  },
  {
    name: 'HEAD on the admin route with a non-admin key',
    request: httpRequest('HEAD', '/admin-data', [`X-API-Key: ${K}`]),
    expect: [FORBIDDEN, NO_ROUTE],
  },
  ...METHODS.flatMap((method): HostileCase[] => [
    {
      name: `${method} without a key`,
      request: httpRequest(method, '/secure-data', [], method === 'POST' || method === 'PUT' ? '{}' : ''),
      expect: [MISSING, NO_ROUTE],
    },
    {
      name: `${method} with the key`,
      request: httpRequest(method, '/secure-data', [`X-API-Key: ${K}`]),
      expect: [NO_ROUTE, DATA],
    },
    {
      name: `${method} on the admin route with a non-admin key`,
      request: httpRequest(method, '/admin-data', [`X-API-Key: ${K}`]),
      expect: [FORBIDDEN, NO_ROUTE],
    },
  ]),
  {
    name: 'CONNECT to the protected path',
    request: httpRequest('CONNECT', '/secure-data'),
    expect: [CLOSED, BEFORE_APP, MISSING, NO_ROUTE],
  },
  {
    name: 'CONNECT in authority form',
    request: httpRequest('CONNECT', '127.0.0.1:80'),
    expect: [CLOSED, BEFORE_APP, NO_ROUTE],
  },
  { name: 'lower-case method name', request: httpRequest('get', '/secure-data'), expect: BEFORE_APP },
  { name: 'unknown method name', request: httpRequest('FETCH', '/secure-data'), expect: BEFORE_APP },
  {
    name: 'method with a trailing space',
    request: 'GET  /secure-data HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
    expect: [BEFORE_APP, MISSING, NO_ROUTE],
  },
  // @hono/node-server's bridge (fetch app) needs a Host to build the Request URL.
  {
    name: 'HTTP/1.0 without a Host header',
    request: 'GET /secure-data HTTP/1.0\r\n\r\n',
    expect: [MISSING, BEFORE_APP],
  },
  {
    name: 'HTTP/1.1 without a Host header',
    request: 'GET /secure-data HTTP/1.1\r\nConnection: close\r\n\r\n',
    expect: BEFORE_APP,
  },
  { name: 'asterisk-form target', request: httpRequest('OPTIONS', '*'), expect: [BEFORE_APP, NO_ROUTE] },
  { name: 'target without a leading slash', request: httpRequest('GET', 'secure-data'), expect: BEFORE_APP },
];

const VARIANTS = [
  '/SECURE-DATA',
  '/Secure-Data',
  '/secure-DATA',
  '/secure-data/',
  '/secure-data//',
  '//secure-data',
  '///secure-data',
  '/./secure-data',
  '/secure-data/.',
  '/secure-data/./',
  '/x/../secure-data',
  '/x/./../secure-data',
  '/secure-data/../secure-data',
  '/health/../secure-data',
  '/admin-data/../secure-data',
  '/x/..%2fsecure-data',
  '/x/..%2Fsecure-data',
  '/x/%2e%2e/secure-data',
  '/x/%2E%2E/secure-data',
  '/%2e/secure-data',
  '/x/.%2e/secure-data',
  '/health%2f..%2fsecure-data',
  '/health/..;/secure-data',
  '/health;/../secure-data',
  '/%73ecure-data',
  '/secure%2ddata',
  '/secure%2Ddata',
  '/%73%65%63%75%72%65%2d%64%61%74%61',
  '/%2fsecure-data',
  '/secure-data%2f',
  '/secure-data%2F',
  '/secure-data%2e',
  '/secure-data%20',
  '/secure-data%09',
  '/secure-data%00',
  '/secure-data%0a',
  '/secure-data%23',
  '/secure-data%3f',
  '/secure-data%5c',
  '/secure-data%E2%80%8B',
  '/%C5%BFecure-data',
  '/secure%252ddata',
  '/secure-data;x=1',
  '/secure-data;',
  '/;/secure-data',
  '/secure-data;jsessionid=1',
  '/secure-data.json',
  '/secure-data.',
  '/secure-data~',
  '/secure-data/x',
  '/secure-data?',
  '/secure-data#',
  '/secure-data#/../health',
  '/secure-data?x=1',
  '/secure-data\\',
  '/\\secure-data',
  'http://127.0.0.1/secure-data',
  'http://evil.example/secure-data',
  'HTTP://127.0.0.1/secure-data',
  'http://127.0.0.1//secure-data',
];

const pathCases: HostileCase[] = VARIANTS.flatMap((path): HostileCase[] => [
  { name: `no key: ${path}`, request: httpRequest('GET', path), expect: [MISSING, NO_ROUTE, BEFORE_APP] },
  {
    name: `with the key: ${path}`,
    request: httpRequest('GET', path, [`X-API-Key: ${K}`]),
    expect: [DATA, NO_ROUTE, BEFORE_APP],
  },
]);

// The same spellings of the admin path with a valid key lacking the admin scope: the
// scope check may never be skipped. (`/admin-data/../secure-data` and the like resolve to
// the ordinary protected route, where the key is good: DATA is then the right answer.)
const ADMIN_VARIANTS = new Set([
  ...VARIANTS.map((path) => path.replaceAll('secure-data', 'admin-data')),
  '/%61dmin-data',
  '/admin%2ddata',
  '/%61%64%6d%69%6e%2d%64%61%74%61',
  '/secure-data/../admin-data',
]);

const adminCases: HostileCase[] = [...ADMIN_VARIANTS].map((path) => ({
  name: `non-admin key: ${path}`,
  request: httpRequest('GET', path, [`X-API-Key: ${K}`]),
  expect: [FORBIDDEN, NO_ROUTE, BEFORE_APP, DATA],
}));

const publicCases: HostileCase[] = [
  { name: 'public route stays public', request: httpRequest('GET', '/health'), expect: HEALTH },
  {
    name: 'public route with a wrong key is still public',
    request: httpRequest('GET', '/health', ['X-API-Key: kw_wrong']),
    expect: HEALTH,
  },
  {
    name: 'admin data with the admin key (control)',
    request: httpRequest('GET', '/admin-data', [`X-API-Key: ${KEYS.admin}`]),
    expect: ADMIN_DATA,
  },
];

hostileSuite('routing', [...methodCases, ...pathCases, ...adminCases, ...publicCases]);
