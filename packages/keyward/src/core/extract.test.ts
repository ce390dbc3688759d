import { describe, expect, it } from 'vitest';
import { cookieValue, DUPLICATE, extractKey, queryValue } from './extract.js';
import { queryOf } from './request.js';
import { apiKeyCookie, apiKeyHeader, apiKeyQuery } from './schemes.js';

const source = (headers: Record<string, string | string[]>, query = '') => ({
  header: (name: string) => headers[name],
  query: () => query,
});

describe('header extraction', () => {
  const scheme = apiKeyHeader({ name: 'X-API-Key' });
  it('matches the header name case-insensitively (lookup by lower-case name)', () => {
    expect(scheme.lookupName).toBe('x-api-key');
    expect(extractKey(scheme, source({ 'x-api-key': 'k1' }))).toBe('k1');
  });
  it('treats an empty or blank value as missing', () => {
    expect(extractKey(scheme, source({ 'x-api-key': '' }))).toBeUndefined();
    expect(extractKey(scheme, source({ 'x-api-key': '   ' }))).toBeUndefined();
    expect(extractKey(scheme, source({}))).toBeUndefined();
  });
  it('rejects two header lines, whether joined with a comma or given as an array', () => {
    expect(extractKey(scheme, source({ 'x-api-key': 'a, b' }))).toBe(DUPLICATE);
    expect(extractKey(scheme, source({ 'x-api-key': ['a', 'b'] }))).toBe(DUPLICATE);
    expect(extractKey(scheme, source({ 'x-api-key': ['a'] }))).toBe('a');
  });
});

describe('cookie extraction', () => {
  it('matches the cookie name exactly', () => {
    expect(cookieValue('X-API-KEY=k1', 'X-API-KEY')).toBe('k1');
    expect(cookieValue('x-api-key=k1', 'X-API-KEY')).toBeUndefined();
    expect(cookieValue('a=1; X-API-KEY=k1; b=2', 'X-API-KEY')).toBe('k1');
    expect(cookieValue('XX-API-KEY=k1', 'X-API-KEY')).toBeUndefined();
  });
  it('rejects the cookie given twice, also across joined Cookie headers', () => {
    expect(cookieValue('X-API-KEY=a; X-API-KEY=b', 'X-API-KEY')).toBe(DUPLICATE);
    expect(cookieValue(['X-API-KEY=a', 'X-API-KEY=b'], 'X-API-KEY')).toBe(DUPLICATE);
    expect(cookieValue('X-API-KEY=a; X-API-KEY=a', 'X-API-KEY')).toBe(DUPLICATE);
  });
  it('treats an empty value as missing, decodes escapes and strips quotes', () => {
    expect(cookieValue('X-API-KEY=', 'X-API-KEY')).toBeUndefined();
    expect(cookieValue('X-API-KEY=""', 'X-API-KEY')).toBeUndefined();
    expect(cookieValue('X-API-KEY="abc"', 'X-API-KEY')).toBe('abc');
    expect(cookieValue('X-API-KEY=a%2Bb', 'X-API-KEY')).toBe('a+b');
    expect(cookieValue('X-API-KEY=a%zz', 'X-API-KEY')).toBe('a%zz');
  });
  it('reads the Cookie header through the scheme', () => {
    const scheme = apiKeyCookie({ name: 'X-API-KEY' });
    expect(extractKey(scheme, source({ cookie: 'X-API-KEY=k' }))).toBe('k');
  });
});

describe('query extraction', () => {
  it('matches the parameter name exactly, after decoding', () => {
    expect(queryValue('x-api-key=k1', 'x-api-key')).toBe('k1');
    expect(queryValue('X-API-KEY=k1', 'x-api-key')).toBeUndefined();
    expect(queryValue('a=1&x-api-key=k1&b=2', 'x-api-key')).toBe('k1');
    expect(queryValue('x%2Dapi%2Dkey=k1', 'x-api-key')).toBe('k1');
  });
  it('does not take name[] or name[0] for name', () => {
    expect(queryValue('x-api-key[]=k1', 'x-api-key')).toBeUndefined();
    expect(queryValue('x-api-key[0]=k1', 'x-api-key')).toBeUndefined();
    expect(queryValue('x-api-key%5B%5D=k1', 'x-api-key')).toBeUndefined();
  });
  it('rejects a repeated parameter instead of picking one', () => {
    expect(queryValue('x-api-key=a&x-api-key=b', 'x-api-key')).toBe(DUPLICATE);
    expect(queryValue('x-api-key=a&x-api-key=', 'x-api-key')).toBe(DUPLICATE);
    expect(queryValue('x-api-key&x-api-key=a', 'x-api-key')).toBe(DUPLICATE);
  });
  it('treats an empty value as missing and decodes + and escapes', () => {
    expect(queryValue('x-api-key=', 'x-api-key')).toBeUndefined();
    expect(queryValue('x-api-key', 'x-api-key')).toBeUndefined();
    expect(queryValue('', 'x-api-key')).toBeUndefined();
    expect(queryValue('x-api-key=a%2Bb', 'x-api-key')).toBe('a+b');
    expect(queryValue('x-api-key=a+b', 'x-api-key')).toBe('a b');
  });
  it('turns a malformed escape into a value no key can equal', () => {
    expect(queryValue('x-api-key=%E0%A4%A', 'x-api-key')).toBe('\u0000');
  });
  it('reads the query of a request target', () => {
    expect(queryOf('/p?x-api-key=k#frag')).toBe('x-api-key=k');
    expect(queryOf('/p')).toBe('');
    const scheme = apiKeyQuery({ name: 'x-api-key' });
    expect(extractKey(scheme, source({}, 'x-api-key=k'))).toBe('k');
  });
});

/**
 * Characters that `String#indexOf` looked at while `run` ran: the scanners' work, counted
 * instead of timed (a timed test would be flaky on a shared machine).
 */
function charsScanned(run: () => void): number {
  const original = String.prototype.indexOf;
  let scanned = 0;
  const counting = function (this: string, search: string, from = 0): number {
    const at = original.call(this, search, from);
    scanned += (at === -1 ? this.length : at) - Math.min(Math.max(0, from), this.length);
    return at;
  };
  String.prototype.indexOf = counting;
  try {
    run();
  } finally {
    String.prototype.indexOf = original;
  }
  return scanned;
}

describe('scanning cost', () => {
  // A 16 KiB header of empty segments with one '=' at the far end: a scanner that searches
  // for '=' from every segment's start reads the rest of the header once per segment.
  const segments = 16_000;

  it('reads a cookie header of many segments in linear work, with the same answer', () => {
    const header = `X-API-KEY${';'.repeat(segments)}=x; X-API-KEY=k1`;
    let got: unknown;
    const scanned = charsScanned(() => {
      got = cookieValue(header, 'X-API-KEY');
    });
    expect(got).toBe('k1');
    expect(scanned).toBeLessThan(4 * header.length);
  });

  it('reads a query of many parameters in linear work, with the same answer', () => {
    const query = `${'a&'.repeat(segments)}b=1&x-api-key=k1`;
    let got: unknown;
    const scanned = charsScanned(() => {
      got = queryValue(query, 'x-api-key');
    });
    expect(got).toBe('k1');
    expect(scanned).toBeLessThan(4 * query.length);
  });
});
