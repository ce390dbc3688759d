import { afterAll, beforeAll, expect } from 'vitest';
import { KEYS } from '../conformance/fixture.js';
import { httpRequest } from './raw.js';
import { DATA, DUPLICATE, type HostileCase, hostileSuite, INVALID, MISSING } from './suite.js';

// Names special to JavaScript objects as cookie, query and header names, and
// injection-shaped values: none may authenticate, crash a parser, or pollute prototypes.
const K = KEYS.good;
const get = (target: string, ...lines: string[]) => httpRequest('GET', target, lines);

const SPECIAL = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '__defineGetter__',
  '__lookupGetter__',
  'isPrototypeOf',
];

const specialCases: HostileCase[] = SPECIAL.flatMap((name): HostileCase[] => [
  { name: `cookie named ${name}`, request: get('/secure-data', `Cookie: ${name}=${K}`), expect: MISSING },
  {
    name: `cookie named ${name} beside the key cookie`,
    request: get('/secure-data', `Cookie: ${name}=x; X-API-KEY=${K}`),
    expect: DATA,
  },
  { name: `query parameter named ${name}`, request: get(`/secure-data?${name}=${K}`), expect: MISSING },
  { name: `query ${name}[x-api-key]`, request: get(`/secure-data?${name}[x-api-key]=${K}`), expect: MISSING },
  {
    name: `query ${name} beside the key parameter`,
    request: get(`/secure-data?${name}=1&x-api-key=${K}&${name}[polluted]=1`),
    expect: DATA,
  },
  { name: `header named ${name}`, request: get('/secure-data', `${name}: ${K}`), expect: MISSING },
  { name: `key value ${name}`, request: get('/secure-data', `X-API-Key: ${name}`), expect: INVALID },
]);

const pollutionCases: HostileCase[] = [
  {
    name: 'query constructor[prototype][x-api-key]',
    request: get(`/secure-data?constructor[prototype][x-api-key]=${K}`),
    expect: MISSING,
  },
  {
    name: 'query __proto__.x-api-key',
    request: get(`/secure-data?__proto__.x-api-key=${K}`),
    expect: MISSING,
  },
  {
    name: 'query __proto__[polluted] then a wrong key',
    request: get(`/secure-data?__proto__[polluted]=yes&x-api-key=kw_wrong`),
    expect: INVALID,
  },
  {
    name: 'cookie __proto__ twice',
    request: get('/secure-data', `Cookie: __proto__=a; __proto__=b`),
    expect: MISSING,
  },
  {
    name: 'JSON body with __proto__ and no key',
    request: httpRequest(
      'POST',
      '/echo',
      ['Content-Type: application/json'],
      `{"__proto__":{"polluted":"yes"},"x-api-key":"${K}"}`,
    ),
    expect: MISSING,
  },
];

// Visible-ASCII injection strings reach the verifier (and must simply not match); the ones
// with spaces or control characters are refused before it. A comma in a header value
// reads as two header lines, hence a duplicate.
const INJECTIONS = [
  "' OR '1'='1",
  "'OR'1'='1'--",
  '" OR ""="',
  '"; DROP TABLE api_keys; --',
  '1;SELECT pg_sleep(5)',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a Log4Shell probe, meant literally.
  '${jndi:ldap://127.0.0.1/a}',
  '{{7*7}}',
  '<%= 7*7 %>',
  '<script>alert(1)</script>',
  '../../../../etc/passwd',
  '..\\..\\windows\\win.ini',
  '{"$ne":null}',
  '{"$gt":"","$ne":null}',
  '*',
  'kw_*',
  '.*',
  '%',
  '\\',
  'null',
  'undefined',
  'true',
  '0',
  '[]',
  '{}',
  'NaN',
  'admin',
  `${K}' OR '1'='1`,
  `${K}%00`,
  `${K.slice(0, 10)}*`,
  '() { :; }; echo vulnerable',
  '$(id)',
  '`id`',
  '|id',
  '\\u0000',
  '%00',
  '%0d%0aSet-Cookie: x=1',
];

const injectionCases: HostileCase[] = INJECTIONS.flatMap((value, i): HostileCase[] => [
  {
    name: `injection #${i + 1} in the header: ${value}`,
    request: get('/secure-data', `X-API-Key: ${value}`),
    expect: value.includes(',') ? DUPLICATE : INVALID,
  },
  {
    name: `injection #${i + 1} in the query: ${value}`,
    request: get(`/secure-data?x-api-key=${encodeURIComponent(value)}`),
    expect: INVALID,
  },
  {
    name: `injection #${i + 1} in the cookie: ${value}`,
    request: get('/secure-data', `Cookie: X-API-KEY=${encodeURIComponent(value)}`),
    expect: INVALID,
  },
]);

let before: string[] = [];
beforeAll(() => {
  before = Object.getOwnPropertyNames(Object.prototype);
});
afterAll(() => {
  // The apps run in this process: a polluting parser would show here.
  expect(Object.getOwnPropertyNames(Object.prototype)).toEqual(before);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});

hostileSuite('special names and injection', [...specialCases, ...pollutionCases, ...injectionCases]);
