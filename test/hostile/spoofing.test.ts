import { KEYS } from '../conformance/fixture.js';
import { httpRequest } from './raw.js';
import {
  BEFORE_APP,
  DATA,
  FORBIDDEN,
  HEALTH,
  type HostileCase,
  hostileSuite,
  MISSING,
  NO_ROUTE,
} from './suite.js';

// Spoofed headers: headers that proxies, gateways or frameworks treat as internal
// (identity set by an auth proxy, client addresses, URL and method rewrites) carry no
// authority here. Only the configured key places authenticate.
const K = KEYS.good;
const get = (target: string, ...lines: string[]) => httpRequest('GET', target, lines);

const IDENTITY = [
  'X-Forwarded-For: 127.0.0.1',
  'X-Real-IP: 127.0.0.1',
  'X-Client-IP: 127.0.0.1',
  'True-Client-IP: 127.0.0.1',
  'CF-Connecting-IP: 127.0.0.1',
  'Forwarded: for=127.0.0.1;proto=https;host=localhost',
  'X-Forwarded-Host: localhost',
  'X-Forwarded-Proto: https',
  'X-Forwarded-Port: 443',
  'X-Forwarded-Server: localhost',
  'X-Authenticated-User: admin',
  'X-Authenticated-Userid: admin',
  'X-Remote-User: admin',
  'Remote-User: admin',
  'X-Forwarded-User: admin',
  'X-Forwarded-Email: admin@example.com',
  'X-Auth-Request-User: admin',
  'X-Auth-Request-Email: admin@example.com',
  'X-User: admin',
  'X-User-Id: admin',
  'X-Principal: admin',
  'X-Keyward-Principal: good',
  'X-Keyward-Verified: true',
  'X-Api-Key-Id: good',
  'X-Consumer-Username: admin',
  'X-Consumer-ID: 1',
  'X-Credential-Identifier: good',
  'X-Anonymous-Consumer: false',
  'X-Amzn-Oidc-Identity: admin',
  'X-Goog-Authenticated-User-Email: admin@example.com',
  'X-MS-CLIENT-PRINCIPAL-NAME: admin',
  'X-SSL-Client-Verify: SUCCESS',
  'X-Client-Cert-Verified: true',
  'X-Middleware-Subrequest: middleware:middleware:middleware:middleware:middleware',
  'X-Internal-Request: true',
  'X-Bypass-Auth: true',
];

// Other common places for a key that are not configured here.
const OTHER_KEY_PLACES = [
  `Authorization: Bearer ${K}`,
  `Authorization: APIKey ${K}`,
  `Authorization: ApiKey key=${K}`,
  `Authorization: Basic ${Buffer.from(`${K}:`).toString('base64')}`,
  `Authorization: ${K}`,
  `Proxy-Authorization: Bearer ${K}`,
  `Api-Key: ${K}`,
  `ApiKey: ${K}`,
  `X-Api-Token: ${K}`,
  `X-Auth-Token: ${K}`,
  `X-Access-Token: ${K}`,
  `Key: ${K}`,
];

const identityCases: HostileCase[] = IDENTITY.flatMap((line): HostileCase[] => [
  { name: `no key, ${line}`, request: get('/secure-data', line), expect: MISSING },
  {
    name: `non-admin key on the admin route, ${line}`,
    request: get('/admin-data', `X-API-Key: ${K}`, line),
    expect: FORBIDDEN,
  },
]);

const otherPlaceCases: HostileCase[] = OTHER_KEY_PLACES.map((line) => ({
  name: `key in an unconfigured place: ${line.slice(0, line.indexOf(':'))} (${line.slice(line.indexOf(':') + 2, line.indexOf(':') + 8)})`,
  request: get('/secure-data', line),
  expect: MISSING,
}));

const scopeCases: HostileCase[] = [
  'X-Scopes: admin',
  'X-Keyward-Scopes: admin',
  'X-Forwarded-Scopes: admin',
  'X-Api-Key-Scopes: admin',
  'X-Roles: admin',
  'X-Permissions: admin',
].map((line) => ({
  name: `scope claimed by a header: ${line}`,
  request: get('/admin-data', `X-API-Key: ${K}`, line),
  expect: FORBIDDEN,
}));

const REWRITES = [
  'X-Original-URL',
  'X-Rewrite-URL',
  'X-Original-URI',
  'X-Forwarded-Uri',
  'X-Forwarded-Path',
  'X-Forwarded-Prefix',
  'X-Envoy-Original-Path',
  'X-Override-URL',
];

const rewriteCases: HostileCase[] = REWRITES.flatMap((name): HostileCase[] => [
  {
    name: `${name} pointing a public request at the data`,
    request: get('/health', `${name}: /secure-data`),
    expect: HEALTH,
  },
  {
    name: `${name} pointing a protected request at a public path`,
    request: get('/secure-data', `${name}: /health`),
    expect: MISSING,
  },
  {
    name: `${name} pointing a scoped request elsewhere`,
    request: get('/admin-data', `X-API-Key: ${K}`, `${name}: /secure-data`),
    expect: FORBIDDEN,
  },
]);

const METHOD_OVERRIDES = ['X-HTTP-Method-Override', 'X-HTTP-Method', 'X-Method-Override'];

const methodCases: HostileCase[] = METHOD_OVERRIDES.flatMap((name): HostileCase[] => [
  {
    name: `${name}: GET on a POST without a key`,
    request: httpRequest('POST', '/secure-data', [`${name}: GET`], '{}'),
    expect: [MISSING, NO_ROUTE],
  },
  {
    name: `${name}: OPTIONS on a GET without a key`,
    request: get('/secure-data', `${name}: OPTIONS`),
    expect: MISSING,
  },
  {
    name: `${name}: HEAD on a GET without a key`,
    request: get('/secure-data', `${name}: HEAD`),
    expect: MISSING,
  },
]);

const otherCases: HostileCase[] = [
  {
    name: '_method=GET query on a POST',
    request: httpRequest('POST', '/secure-data?_method=GET', [], '{}'),
    expect: [MISSING, NO_ROUTE],
  },
  {
    name: 'Host: localhost',
    request: 'GET /secure-data HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
    expect: MISSING,
  },
  {
    name: 'Host of another site',
    request: 'GET /secure-data HTTP/1.1\r\nHost: internal.example\r\nConnection: close\r\n\r\n',
    expect: MISSING,
  },
  {
    name: 'Host with a path',
    request: 'GET /secure-data HTTP/1.1\r\nHost: 127.0.0.1/health\r\nConnection: close\r\n\r\n',
    expect: [MISSING, BEFORE_APP],
  },
  {
    name: 'two Host headers',
    request: 'GET /secure-data HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n',
    expect: [MISSING, BEFORE_APP],
  },
  {
    name: 'Content-Length twice, different',
    request:
      'GET /secure-data HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 5\r\nConnection: close\r\n\r\n',
    expect: BEFORE_APP,
  },
  {
    name: 'Transfer-Encoding with Content-Length',
    request: `POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n`,
    expect: BEFORE_APP,
  },
  {
    name: 'obfuscated Transfer-Encoding',
    request: `POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\nConnection: close\r\n\r\n`,
    expect: [BEFORE_APP, MISSING],
  },
  {
    name: 'Upgrade: websocket without a key',
    request: get(
      '/secure-data',
      'Upgrade: websocket',
      'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    ),
    expect: [MISSING, BEFORE_APP],
  },
  {
    name: 'Upgrade: h2c without a key',
    request: get('/secure-data', 'Upgrade: h2c', 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA'),
    expect: [MISSING, BEFORE_APP],
  },
  {
    name: 'Expect: 100-continue without a key',
    request: httpRequest('POST', '/echo', ['Expect: 100-continue', 'Content-Type: application/json'], '{}'),
    expect: MISSING,
  },
  {
    name: 'control: the key in its header still works beside all of it',
    request: get('/secure-data', `X-API-Key: ${K}`, ...IDENTITY.slice(0, 10)),
    expect: DATA,
  },
];

hostileSuite('spoofed headers', [
  ...identityCases,
  ...otherPlaceCases,
  ...scopeCases,
  ...rewriteCases,
  ...methodCases,
  ...otherCases,
]);
