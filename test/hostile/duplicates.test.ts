import { KEYS } from '../conformance/fixture.js';
import { httpRequest } from './raw.js';
import {
  DATA,
  DUPLICATE,
  FORBIDDEN,
  type HostileCase,
  hostileSuite,
  INVALID,
  MISSING,
  NEAR_MISS,
  WRONG,
} from './suite.js';

// Duplicates and pollution: a key given twice in one place is refused (400), never
// resolved by picking one; the first place that carries a key decides (header, then
// cookie, then query); look-alike names are other names.
const K = KEYS.good;
const get = (target: string, ...lines: string[]) => httpRequest('GET', target, lines);

const headerCases: HostileCase[] = [
  {
    name: 'header twice, same valid key',
    request: get('/secure-data', `X-API-Key: ${K}`, `X-API-Key: ${K}`),
    expect: DUPLICATE,
    verifyCalls: 0,
  },
  {
    name: 'header twice, valid then wrong',
    request: get('/secure-data', `X-API-Key: ${K}`, `X-API-Key: ${WRONG}`),
    expect: DUPLICATE,
    verifyCalls: 0,
  },
  {
    name: 'header twice, wrong then valid',
    request: get('/secure-data', `X-API-Key: ${WRONG}`, `X-API-Key: ${K}`),
    expect: DUPLICATE,
    verifyCalls: 0,
  },
  {
    name: 'header twice, names in different case',
    request: get('/secure-data', `X-API-Key: ${K}`, `x-api-key: ${K}`),
    expect: DUPLICATE,
  },
  {
    name: 'header twice, upper-case name second',
    request: get('/secure-data', `x-api-key: ${NEAR_MISS}`, `X-API-KEY: ${K}`),
    expect: DUPLICATE,
  },
  {
    name: 'header twice, first one empty',
    request: get('/secure-data', 'X-API-Key:', `X-API-Key: ${K}`),
    expect: DUPLICATE,
  },
  {
    name: 'header twice, second one empty',
    request: get('/secure-data', `X-API-Key: ${K}`, 'X-API-Key: '),
    expect: DUPLICATE,
  },
  {
    name: 'header three times',
    request: get('/secure-data', `X-API-Key: ${K}`, `X-API-Key: ${K}`, `X-API-Key: ${K}`),
    expect: DUPLICATE,
  },
  {
    name: 'header value joined with ", "',
    request: get('/secure-data', `X-API-Key: ${K}, ${K}`),
    expect: DUPLICATE,
  },
  {
    name: 'header value joined with ","',
    request: get('/secure-data', `X-API-Key: ${WRONG},${K}`),
    expect: DUPLICATE,
  },
  {
    name: 'header value with a trailing comma',
    request: get('/secure-data', `X-API-Key: ${K},`),
    expect: DUPLICATE,
  },
  {
    name: 'underscores instead of dashes: X_API_Key',
    request: get('/secure-data', `X_API_Key: ${K}`),
    expect: MISSING,
  },
  {
    name: 'underscores instead of dashes: X_API_KEY',
    request: get('/secure-data', `X_API_KEY: ${K}`),
    expect: MISSING,
  },
  { name: 'one underscore: X-API_Key', request: get('/secure-data', `X-API_Key: ${K}`), expect: MISSING },
  {
    name: 'underscore header beside a wrong real one',
    request: get('/secure-data', `X_API_Key: ${K}`, `X-API-Key: ${WRONG}`),
    expect: INVALID,
  },
  {
    name: 'underscore header beside the valid real one',
    request: get('/secure-data', `X-API-Key: ${K}`, `X_API_Key: ${WRONG}`),
    expect: DATA,
  },
  { name: 'name without dashes: XAPIKey', request: get('/secure-data', `XAPIKey: ${K}`), expect: MISSING },
  {
    name: 'name with a suffix: X-API-Keys',
    request: get('/secure-data', `X-API-Keys: ${K}`),
    expect: MISSING,
  },
  {
    name: 'name with a prefix: XX-API-Key',
    request: get('/secure-data', `XX-API-Key: ${K}`),
    expect: MISSING,
  },
  { name: 'name with dots: X.API.Key', request: get('/secure-data', `X.API.Key: ${K}`), expect: MISSING },
];

const cookieCases: HostileCase[] = [
  {
    name: 'cookie twice in one header',
    request: get('/secure-data', `Cookie: X-API-KEY=${K}; X-API-KEY=${K}`),
    expect: DUPLICATE,
    verifyCalls: 0,
  },
  {
    name: 'cookie twice, valid then wrong',
    request: get('/secure-data', `Cookie: X-API-KEY=${K}; X-API-KEY=${WRONG}`),
    expect: DUPLICATE,
  },
  {
    name: 'cookie twice, second empty',
    request: get('/secure-data', `Cookie: X-API-KEY=${K}; X-API-KEY=`),
    expect: DUPLICATE,
  },
  {
    name: 'cookie twice across two Cookie lines',
    request: get('/secure-data', `Cookie: X-API-KEY=${K}`, `Cookie: X-API-KEY=${K}`),
    expect: DUPLICATE,
  },
  {
    name: 'cookie twice, one quoted',
    request: get('/secure-data', `Cookie: X-API-KEY="${K}"; X-API-KEY=${K}`),
    expect: DUPLICATE,
  },
  {
    name: 'cookie twice, one percent-encoded',
    request: get('/secure-data', `Cookie: X-API-KEY=%6B${K.slice(1)}; X-API-KEY=${K}`),
    expect: DUPLICATE,
  },
  {
    name: 'cookie once per line, other cookie on the first line',
    request: get('/secure-data', 'Cookie: a=1', `Cookie: X-API-KEY=${K}`),
    expect: DATA,
  },
  {
    name: 'cookie names are case-sensitive: lower-case is another cookie',
    request: get('/secure-data', `Cookie: x-api-key=${K}`),
    expect: MISSING,
  },
  {
    name: 'lower-case look-alike beside a wrong real cookie',
    request: get('/secure-data', `Cookie: X-API-KEY=${WRONG}; x-api-key=${K}`),
    expect: INVALID,
  },
  {
    name: 'cookie with array syntax is another cookie',
    request: get('/secure-data', `Cookie: X-API-KEY[]=${K}`),
    expect: MISSING,
  },
  {
    name: 'array-syntax cookie beside the real one',
    request: get('/secure-data', `Cookie: X-API-KEY=${K}; X-API-KEY[]=${WRONG}`),
    expect: DATA,
  },
  {
    name: 'comma-separated cookies are one value',
    request: get('/secure-data', `Cookie: X-API-KEY=${K},X-API-KEY=${K}`),
    expect: INVALID,
  },
  {
    name: 'cookie name with a prefix',
    request: get('/secure-data', `Cookie: __Host-X-API-KEY=${K}`),
    expect: MISSING,
  },
  { name: 'cookie without a value', request: get('/secure-data', 'Cookie: X-API-KEY'), expect: MISSING },
  { name: 'cookie with an empty value', request: get('/secure-data', 'Cookie: X-API-KEY='), expect: MISSING },
  {
    name: 'cookie with an empty quoted value',
    request: get('/secure-data', 'Cookie: X-API-KEY=""'),
    expect: MISSING,
  },
];

const queryCases: HostileCase[] = [
  {
    name: 'query parameter twice',
    request: get(`/secure-data?x-api-key=${K}&x-api-key=${K}`),
    expect: DUPLICATE,
    verifyCalls: 0,
  },
  {
    name: 'query parameter twice, valid then wrong',
    request: get(`/secure-data?x-api-key=${K}&x-api-key=${WRONG}`),
    expect: DUPLICATE,
  },
  {
    name: 'query parameter twice, second empty',
    request: get(`/secure-data?x-api-key=${K}&x-api-key=`),
    expect: DUPLICATE,
  },
  {
    name: 'query parameter twice, second bare',
    request: get(`/secure-data?x-api-key=${K}&x-api-key`),
    expect: DUPLICATE,
  },
  {
    name: 'query parameter twice, one name percent-encoded',
    request: get(`/secure-data?x%2Dapi-key=${K}&x-api-key=${K}`),
    expect: DUPLICATE,
  },
  {
    name: 'query parameter twice, one name fully encoded',
    request: get(`/secure-data?%78%2D%61%70%69%2D%6B%65%79=${WRONG}&x-api-key=${K}`),
    expect: DUPLICATE,
  },
  { name: 'query array syntax x-api-key[]', request: get(`/secure-data?x-api-key[]=${K}`), expect: MISSING },
  {
    name: 'query array syntax twice',
    request: get(`/secure-data?x-api-key[]=${K}&x-api-key[]=${K}`),
    expect: MISSING,
  },
  { name: 'query array syntax encoded', request: get(`/secure-data?x-api-key%5B%5D=${K}`), expect: MISSING },
  {
    name: 'query index syntax x-api-key[0]',
    request: get(`/secure-data?x-api-key[0]=${K}`),
    expect: MISSING,
  },
  {
    name: 'query object syntax x-api-key[a]',
    request: get(`/secure-data?x-api-key[a]=${K}`),
    expect: MISSING,
  },
  { name: 'query dotted syntax x-api-key.a', request: get(`/secure-data?x-api-key.a=${K}`), expect: MISSING },
  {
    name: 'query array syntax beside the real parameter',
    request: get(`/secure-data?x-api-key=${K}&x-api-key[]=${WRONG}`),
    expect: DATA,
  },
  {
    name: 'query object syntax beside a wrong real parameter',
    request: get(`/secure-data?x-api-key[k]=${K}&x-api-key=${WRONG}`),
    expect: INVALID,
  },
  { name: 'query names are case-sensitive', request: get(`/secure-data?X-API-KEY=${K}`), expect: MISSING },
  {
    name: 'semicolon is not a query separator',
    request: get(`/secure-data?x-api-key=${K};x-api-key=${K}`),
    expect: INVALID,
  },
  { name: 'key hidden after a semicolon', request: get(`/secure-data?a=1;x-api-key=${K}`), expect: MISSING },
  { name: 'the bare key as a parameter name', request: get(`/secure-data?${K}`), expect: MISSING },
  { name: 'empty query parameter', request: get('/secure-data?x-api-key='), expect: MISSING },
  {
    name: 'query parameter with ampersands around it',
    request: get(`/secure-data?&&x-api-key=${K}&&`),
    expect: DATA,
  },
];

const precedenceCases: HostileCase[] = [
  {
    name: 'header decides over wrong cookie and query',
    request: get(`/secure-data?x-api-key=${WRONG}`, `X-API-Key: ${K}`, `Cookie: X-API-KEY=${WRONG}`),
    expect: DATA,
    verifyCalls: 1,
  },
  {
    name: 'wrong header is not rescued by a valid cookie',
    request: get('/secure-data', `X-API-Key: ${WRONG}`, `Cookie: X-API-KEY=${K}`),
    expect: INVALID,
    verifyCalls: 1,
  },
  {
    name: 'wrong header is not rescued by a valid query',
    request: get(`/secure-data?x-api-key=${K}`, `X-API-Key: ${WRONG}`),
    expect: INVALID,
  },
  {
    name: 'empty header falls through to the cookie',
    request: get('/secure-data', 'X-API-Key:', `Cookie: X-API-KEY=${K}`),
    expect: DATA,
  },
  {
    name: 'blank header falls through to the query',
    request: get(`/secure-data?x-api-key=${K}`, 'X-API-Key:    '),
    expect: DATA,
  },
  {
    name: 'valid header wins over a duplicated cookie',
    request: get('/secure-data', `X-API-Key: ${K}`, `Cookie: X-API-KEY=${K}; X-API-KEY=${WRONG}`),
    expect: DATA,
  },
  {
    name: 'duplicated header is refused even with a valid cookie',
    request: get('/secure-data', `X-API-Key: ${K}`, `X-API-Key: ${K}`, `Cookie: X-API-KEY=${K}`),
    expect: DUPLICATE,
  },
  {
    name: 'cookie decides over a wrong query',
    request: get(`/secure-data?x-api-key=${WRONG}`, `Cookie: X-API-KEY=${K}`),
    expect: DATA,
  },
  {
    name: 'wrong cookie is not rescued by a valid query',
    request: get(`/secure-data?x-api-key=${K}`, `Cookie: X-API-KEY=${WRONG}`),
    expect: INVALID,
  },
  {
    name: 'duplicated cookie is refused even with a valid query',
    request: get(`/secure-data?x-api-key=${K}`, `Cookie: X-API-KEY=${K}; X-API-KEY=${K}`),
    expect: DUPLICATE,
  },
  {
    name: 'non-admin header beats an admin query key on an admin route',
    request: get(`/admin-data?x-api-key=${KEYS.admin}`, `X-API-Key: ${K}`),
    expect: FORBIDDEN,
  },
  {
    name: 'non-admin header beats an admin cookie on an admin route',
    request: get('/admin-data', `X-API-Key: ${K}`, `Cookie: X-API-KEY=${KEYS.admin}`),
    expect: FORBIDDEN,
  },
];

hostileSuite('duplicates and pollution', [...headerCases, ...cookieCases, ...queryCases, ...precedenceCases]);
