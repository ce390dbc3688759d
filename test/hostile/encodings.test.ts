import { KEYS } from '../conformance/fixture.js';
import { httpRequest } from './raw.js';
import {
  BEFORE_APP,
  DATA,
  DUPLICATE,
  type HostileCase,
  hostileSuite,
  INVALID,
  MISSING,
  NO_ROUTE,
} from './suite.js';

// Encodings: the query and cookie values are percent-decoded once (as URLSearchParams and
// the `cookie` package do), headers never; whatever decodes to something other than 1-256
// visible ASCII characters is an invalid key, refused before the verifier runs. Control
// characters in the request head are refused by Node's parser before any app code.
const K = KEYS.good;
const get = (target: string, ...lines: string[]) => httpRequest('GET', target, lines);
const every = (s: string) => [...s].map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).join('');
const q = (value: string) => get(`/secure-data?x-api-key=${value}`);
const rejected = (name: string, request: string): HostileCase => ({
  name,
  request,
  expect: INVALID,
  verifyCalls: 0,
});

const queryCases: HostileCase[] = [
  { name: 'query value fully percent-encoded', request: q(every(K)), expect: DATA },
  {
    name: 'query value partly percent-encoded, lower-case hex',
    request: q(`%6b${K.slice(1)}`),
    expect: DATA,
  },
  { name: 'query name percent-encoded', request: get(`/secure-data?x-api%2Dkey=${K}`), expect: DATA },
  { name: 'query name starting with an escape', request: get(`/secure-data?%78-api-key=${K}`), expect: DATA },
  rejected('query "+" before the key (a space)', q(`+${K}`)),
  rejected('query "+" after the key (a space)', q(`${K}+`)),
  rejected('query %20 inside the key', q(`${K.slice(0, 5)}%20${K.slice(5)}`)),
  rejected('query %20 before the key', q(`%20${K}`)),
  rejected('query %09 after the key', q(`${K}%09`)),
  rejected('query %0A after the key', q(`${K}%0A`)),
  rejected('query %0D%0A after the key', q(`${K}%0D%0A`)),
  rejected('query %00 after the key', q(`${K}%00`)),
  rejected('query %00 alone', q('%00')),
  rejected('query %00 before the key', q(`%00${K}`)),
  rejected('query malformed escape %zz', q(`${K}%zz`)),
  rejected('query malformed escape: lone %', q(`${K}%`)),
  rejected('query truncated escape %4', q(`${K}%4`)),
  rejected('query non-ASCII é (%C3%A9)', q(`${K}%C3%A9`)),
  rejected('query over-long UTF-8 for "." (%C0%AE)', q(`${K}%C0%AE`)),
  rejected('query over-long UTF-8 for "/" (%E0%80%AF)', q(`${K}%E0%80%AF`)),
  rejected('query lone surrogate (%ED%A0%80)', q(`${K}%ED%A0%80`)),
  rejected('query invalid UTF-8 byte (%FF)', q(`${K}%FF`)),
  rejected('query byte-order mark before the key', q(`%EF%BB%BF${K}`)),
  rejected('query non-breaking space before the key', q(`%C2%A0${K}`)),
  rejected('query ideographic space after the key', q(`${K}%E3%80%80`)),
  rejected('query line separator after the key', q(`${K}%E2%80%A8`)),
  rejected('query zero-width space inside the key', q(`${K.slice(0, 4)}%E2%80%8B${K.slice(4)}`)),
  rejected('query emoji after the key', q(`${K}%F0%9F%94%91`)),
  rejected('query full-width letters', q('%EF%BD%8B%EF%BD%97')),
  {
    name: 'query double-encoded key is not decoded twice',
    request: q(every(every(K))),
    expect: INVALID,
    verifyCalls: 1,
  },
  {
    name: 'query encoded comma is part of the value',
    request: q(`${K}%2C`),
    expect: INVALID,
    verifyCalls: 1,
  },
  {
    name: 'query name with %00 is another name',
    request: get(`/secure-data?x-api-key%00=${K}`),
    expect: MISSING,
  },
  {
    name: 'query name with a malformed escape is ignored',
    request: get(`/secure-data?x-api-key%=${K}`),
    expect: MISSING,
  },
  {
    name: 'query name with an encoded space is another name',
    request: get(`/secure-data?x-api-key%20=${K}`),
    expect: MISSING,
  },
  {
    name: 'query name with "+" is another name',
    request: get(`/secure-data?x-api-key+=${K}`),
    expect: MISSING,
  },
];

const headerCases: HostileCase[] = [
  {
    name: 'header padded with spaces and tabs (HTTP whitespace)',
    request: get('/secure-data', `X-API-Key: \t ${K} \t`),
    expect: DATA,
  },
  rejected('header latin-1 byte é after the key', get('/secure-data', `X-API-Key: ${K}\xe9`)),
  rejected('header raw UTF-8 é after the key', get('/secure-data', `X-API-Key: ${K}\xc3\xa9`)),
  rejected('header non-breaking space (0xA0) before the key', get('/secure-data', `X-API-Key: \xa0${K}`)),
  rejected('header non-breaking space (0xA0) after the key', get('/secure-data', `X-API-Key: ${K}\xa0`)),
  rejected('header NEL (0x85) before the key', get('/secure-data', `X-API-Key: \x85${K}`)),
  rejected('header tab inside the key', get('/secure-data', `X-API-Key: ${K.slice(0, 5)}\t${K.slice(5)}`)),
  rejected('header space inside the key', get('/secure-data', `X-API-Key: ${K.slice(0, 5)} ${K.slice(5)}`)),
  rejected('header raw UTF-8 ideographic space', get('/secure-data', `X-API-Key: ${K}\xe3\x80\x80`)),
  {
    name: 'header value is not percent-decoded',
    request: get('/secure-data', `X-API-Key: %6B${K.slice(1)}`),
    expect: INVALID,
    verifyCalls: 1,
  },
  {
    name: 'header value is not unquoted',
    request: get('/secure-data', `X-API-Key: "${K}"`),
    expect: INVALID,
    verifyCalls: 1,
  },
  {
    name: 'header value "+" is not a space',
    request: get('/secure-data', `X-API-Key: ${K}+`),
    expect: INVALID,
    verifyCalls: 1,
  },
  {
    name: 'header control character 0x01',
    request: get('/secure-data', `X-API-Key: ${K}\x01`),
    expect: BEFORE_APP,
  },
  { name: 'header NUL byte', request: get('/secure-data', `X-API-Key: ${K}\x00`), expect: BEFORE_APP },
  { name: 'header DEL (0x7F)', request: get('/secure-data', `X-API-Key: ${K}\x7f`), expect: BEFORE_APP },
  {
    name: 'header bare CR inside the value',
    request: get('/secure-data', `X-API-Key: ${K}\rX-API-Key: ${K}`),
    expect: BEFORE_APP,
  },
  {
    name: 'header bare LF inside the value',
    request: get('/secure-data', `X-API-Key: ${K}\nX-Other: 1`),
    expect: BEFORE_APP,
  },
  {
    name: 'header bare LF smuggling a second key line',
    request: get('/secure-data', `X-API-Key: ${K}\nX-API-Key: ${K}`),
    expect: BEFORE_APP,
  },
  {
    name: 'header obsolete line folding',
    request: get('/secure-data', 'X-API-Key: a', ` ${K}`),
    expect: BEFORE_APP,
  },
  {
    name: 'header name with a space before the colon',
    request: get('/secure-data', `X-API-Key : ${K}`),
    expect: BEFORE_APP,
  },
  {
    name: 'header name with a latin-1 byte',
    request: get('/secure-data', `X-API-K\xe9y: ${K}`),
    expect: BEFORE_APP,
  },
  { name: 'header line without a colon', request: get('/secure-data', `X-API-Key ${K}`), expect: BEFORE_APP },
  {
    name: 'comma from a raw UTF-8 lookalike is not a comma',
    request: get('/secure-data', `X-API-Key: ${K}\xef\xbc\x8c${K}`),
    expect: INVALID,
    verifyCalls: 0,
  },
];

const cookieCases: HostileCase[] = [
  {
    name: 'cookie value percent-encoded',
    request: get('/secure-data', `Cookie: X-API-KEY=${every(K)}`),
    expect: DATA,
  },
  { name: 'cookie value quoted', request: get('/secure-data', `Cookie: X-API-KEY="${K}"`), expect: DATA },
  {
    name: 'cookie with spaces around "="',
    request: get('/secure-data', `Cookie: X-API-KEY = ${K}`),
    expect: DATA,
  },
  {
    name: 'cookie among others without spaces',
    request: get('/secure-data', `Cookie: a=1;X-API-KEY=${K};b=2`),
    expect: DATA,
  },
  rejected(
    'cookie non-breaking space (0xA0) before the value',
    get('/secure-data', `Cookie: X-API-KEY=\xa0${K}`),
  ),
  {
    name: 'cookie non-breaking space (0xA0) before the name',
    request: get('/secure-data', `Cookie: \xa0X-API-KEY=${K}`),
    expect: MISSING,
  },
  rejected('cookie encoded non-breaking space', get('/secure-data', `Cookie: X-API-KEY=%C2%A0${K}`)),
  rejected('cookie latin-1 byte in the value', get('/secure-data', `Cookie: X-API-KEY=${K}\xe9`)),
  rejected('cookie encoded NUL', get('/secure-data', `Cookie: X-API-KEY=%00${K}`)),
  rejected('cookie encoded space', get('/secure-data', `Cookie: X-API-KEY=${K}%20`)),
  rejected('cookie encoded non-ASCII', get('/secure-data', `Cookie: X-API-KEY=${K}%C3%A9`)),
  // A malformed escape is kept verbatim (as the `cookie` package does): a plausible wrong key.
  {
    name: 'cookie malformed escape kept verbatim',
    request: get('/secure-data', `Cookie: X-API-KEY=${K}%zz`),
    expect: INVALID,
    verifyCalls: 1,
  },
  {
    name: 'cookie over-long UTF-8 kept verbatim',
    request: get('/secure-data', 'Cookie: X-API-KEY=%C0%AE'),
    expect: INVALID,
    verifyCalls: 1,
  },
  {
    name: 'cookie unbalanced quote',
    request: get('/secure-data', `Cookie: X-API-KEY="${K}`),
    expect: INVALID,
    verifyCalls: 1,
  },
  {
    name: 'cookie encoded semicolon stays in the value',
    request: get('/secure-data', `Cookie: X-API-KEY=${K}%3BX-API-KEY%3D${K}`),
    expect: INVALID,
  },
  {
    name: 'cookie encoded comma does not make a duplicate',
    request: get('/secure-data', `Cookie: X-API-KEY=${K}%2C${K}`),
    expect: INVALID,
  },
  {
    name: 'cookie control character',
    request: get('/secure-data', `Cookie: X-API-KEY=${K}\x01`),
    expect: BEFORE_APP,
  },
  {
    name: 'cookie name percent-encoded is another name',
    request: get('/secure-data', `Cookie: X%2DAPI-KEY=${K}`),
    expect: MISSING,
  },
];

// A request target carries no fragment; routers that take `#...` as part of the path (or do
// not route absolute-form targets) answer 404, which is fine: what matters is that the
// key after `#` is never read as a query.
const targetCases: HostileCase[] = [
  {
    name: 'control character in the request target',
    request: get(`/secure-data?x-api-key=${K}\x01`),
    expect: BEFORE_APP,
  },
  { name: 'tab in the request target', request: get(`/secure-data?x-api-key=${K}\t`), expect: BEFORE_APP },
  {
    name: 'raw UTF-8 in the request target',
    request: get(`/secure-data?x-api-key=${K}\xc3\xa9`),
    expect: BEFORE_APP,
  },
  { name: 'space in the request target', request: get(`/secure-data?x-api-key= ${K}`), expect: BEFORE_APP },
  {
    name: 'key after a fragment is not a query',
    request: get(`/secure-data#x?x-api-key=${K}`),
    expect: [MISSING, NO_ROUTE],
  },
  {
    name: 'key in the fragment after a query',
    request: get(`/secure-data?a=1#x-api-key=${K}`),
    expect: [MISSING, NO_ROUTE],
  },
  {
    name: 'key inside an encoded fragment mark',
    request: get(`/secure-data?a=%23&x-api-key=${K}`),
    expect: DATA,
  },
  {
    name: 'comma in a header-borne duplicate',
    request: get('/secure-data', `X-API-Key: ${K}%2C${K}`),
    expect: INVALID,
  },
  {
    name: 'key in absolute-form target',
    request: get(`http://127.0.0.1/secure-data?x-api-key=${K}`),
    expect: [DATA, NO_ROUTE],
  },
  {
    name: 'duplicate in absolute-form target',
    request: get(`http://127.0.0.1/secure-data?x-api-key=${K}&x-api-key=${K}`),
    expect: [DUPLICATE, NO_ROUTE],
  },
];

hostileSuite('encodings', [...queryCases, ...headerCases, ...cookieCases, ...targetCases]);
