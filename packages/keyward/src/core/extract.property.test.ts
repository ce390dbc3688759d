import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cookieValue, DUPLICATE, extractKey, queryValue } from './extract.js';
import { type KeySource, queryOf } from './request.js';
import { apiKeyHeader } from './schemes.js';

const header = apiKeyHeader({ name: 'X-API-Key' });
const fromHeader = (value: string | readonly string[] | undefined) =>
  extractKey(header, { header: () => value, query: () => '' } satisfies KeySource);

// A plausible key: visible ASCII without ',' (the one character a header key cannot hold).
const key = fc.stringMatching(/^[\x21-\x2b\x2d-\x7e]{1,64}$/);
const ows = fc.stringMatching(/^[ \t]{0,3}$/);
// Every kind of string JavaScript can hold, control characters and astral planes included.
const anyText = fc.string({ unit: 'binary', maxLength: 80 });
const anyLatin1 = fc.string({ unit: 'binary-ascii', maxLength: 80 });
// Whitespace that JavaScript's trim() removes but HTTP does not treat as padding.
const unicodeSpace = fc.constantFrom(
  '\u000b',
  '\u000c',
  '\u00a0',
  '\u1680',
  '\u2000',
  '\u2007',
  '\u200a',
  '\u2028',
  '\u2029',
  '\u202f',
  '\u205f',
  '\u3000',
  '\ufeff',
);

describe('header extraction (properties)', () => {
  it('returns any plausible key unchanged, with HTTP whitespace around it removed', () => {
    fc.assert(
      fc.property(key, ows, ows, (k, before, after) => {
        expect(fromHeader(before + k + after)).toBe(k);
        expect(fromHeader([before + k + after])).toBe(k);
      }),
    );
  });

  it('keeps Unicode spaces that String#trim would drop, so a padded key is not the key', () => {
    fc.assert(
      fc.property(key, unicodeSpace, fc.boolean(), (k, space, leading) => {
        const padded = leading ? space + k : k + space;
        expect(fromHeader(padded)).toBe(padded);
      }),
    );
  });

  it('treats two header lines, or a comma-joined value, as a duplicate whatever they hold', () => {
    fc.assert(
      fc.property(fc.array(anyLatin1, { minLength: 2, maxLength: 4 }), (lines) => {
        expect(fromHeader(lines)).toBe(DUPLICATE);
        expect(fromHeader(lines.join(', '))).toBe(DUPLICATE);
      }),
    );
  });

  it('never throws and only answers a string, undefined or DUPLICATE', () => {
    fc.assert(
      fc.property(fc.oneof(anyText, fc.array(anyText, { maxLength: 3 })), (value) => {
        const got = fromHeader(value);
        expect(got === undefined || got === DUPLICATE || (typeof got === 'string' && got !== '')).toBe(true);
      }),
    );
  });
});

// Query names in the shapes real clients send; the scheme's own name is `x-api-key`.
const NAME = 'x-api-key';
const otherName = fc
  .string({ unit: 'binary', minLength: 1, maxLength: 12 })
  .filter((n) => n !== NAME && !n.includes('\ud800'));
const encodeName = (name: string, mode: number) =>
  mode === 0
    ? name
    : mode === 1
      ? encodeURIComponent(name)
      : [...new TextEncoder().encode(name)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
const formEncode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');

describe('query extraction (properties)', () => {
  it('decodes the value of the one parameter with the name, wherever it sits and however it is encoded', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
        fc.array(fc.tuple(otherName, anyText), { maxLength: 5 }),
        fc.nat(5),
        fc.integer({ min: 0, max: 2 }),
        (value, others, at, mode) => {
          const pairs = others.map(([n, v]) => `${encodeURIComponent(n)}=${formEncode(v)}`);
          pairs.splice(Math.min(at, pairs.length), 0, `${encodeName(NAME, mode)}=${formEncode(value)}`);
          expect(queryValue(pairs.join('&'), NAME)).toBe(value);
        },
      ),
    );
  });

  it('agrees with URLSearchParams on well-formed queries: one value, none, or a duplicate', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(NAME, 'x-api-key ', 'X-API-KEY', 'a', 'x'), anyText), {
          maxLength: 6,
        }),
        (pairs) => {
          const query = pairs.map(([n, v]) => `${formEncode(n)}=${formEncode(v)}`).join('&');
          const all = new URLSearchParams(query).getAll(NAME);
          const got = queryValue(query, NAME);
          if (all.length > 1) expect(got).toBe(DUPLICATE);
          else expect(got).toBe(all[0] === '' ? undefined : all[0]);
        },
      ),
    );
  });

  it('counts the name twice, in any encodings, as a duplicate', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: 0, max: 2 }),
        anyText,
        anyText,
        (m1, m2, v1, v2) => {
          const query = `${encodeName(NAME, m1)}=${formEncode(v1)}&${encodeName(NAME, m2)}=${formEncode(v2)}`;
          expect(queryValue(query, NAME)).toBe(DUPLICATE);
        },
      ),
    );
  });

  it('never matches array, object, prefixed or suffixed forms of the name', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('[]', '[0]', '[a]', '.a', ' ', '%00', '%20', '_', '-'),
        fc.boolean(),
        key,
        (affix, prefix, value) => {
          const name = prefix ? `${affix}${NAME}` : `${NAME}${affix}`;
          expect(queryValue(`${name}=${value}`, NAME)).toBeUndefined();
        },
      ),
    );
  });

  it('never throws on arbitrary query strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 120 }), (query) => {
        const got = queryValue(query, NAME);
        expect(got === undefined || got === DUPLICATE || typeof got === 'string').toBe(true);
      }),
    );
  });
});

const COOKIE = 'X-API-KEY';
// RFC 6265 cookie-octets without '%' (which would be decoded): what a browser stores verbatim.
const cookieKey = fc.stringMatching(/^[!#$&-+\-./0-:<-[\]-~]{1,64}$/);
const cookieName = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,12}$/).filter((n) => n !== COOKIE);

describe('cookie extraction (properties)', () => {
  it('reads the one cookie with the exact name among others, percent-decoding its value', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
        fc.array(fc.tuple(cookieName, key.map(encodeURIComponent)), { maxLength: 5 }),
        fc.nat(5),
        (value, others, at) => {
          const pairs = others.map(([n, v]) => `${n}=${v}`);
          pairs.splice(Math.min(at, pairs.length), 0, `${COOKIE}=${encodeURIComponent(value)}`);
          expect(cookieValue(pairs.join('; '), COOKIE)).toBe(value);
        },
      ),
    );
  });

  it('counts the cookie twice, in one header or across lines, as a duplicate', () => {
    fc.assert(
      fc.property(key, key, fc.boolean(), (a, b, split) => {
        const header = split ? [`${COOKIE}=${a}`, `${COOKIE}=${b}`] : `${COOKIE}=${a}; ${COOKIE}=${b}`;
        expect(cookieValue(header, COOKIE)).toBe(DUPLICATE);
      }),
    );
  });

  it('is case-sensitive and ignores names that merely contain the name', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(
          'x-api-key',
          'X-API-Key',
          `a${COOKIE}`,
          `${COOKIE}a`,
          `${COOKIE}[]`,
          `\u00a0${COOKIE}`,
        ),
        key,
        (name, value) => {
          expect(cookieValue(`${name}=${value}`, COOKIE)).toBeUndefined();
        },
      ),
    );
  });

  it('does not strip Unicode spaces from the value', () => {
    fc.assert(
      fc.property(cookieKey, unicodeSpace, (k, space) => {
        expect(cookieValue(`${COOKIE}=${space}${k}`, COOKIE)).toBe(space + k);
      }),
    );
  });

  it('never throws on arbitrary cookie headers', () => {
    fc.assert(
      fc.property(fc.oneof(anyText, fc.array(anyText, { maxLength: 3 })), (value) => {
        const got = cookieValue(value, COOKIE);
        expect(got === undefined || got === DUPLICATE || typeof got === 'string').toBe(true);
      }),
    );
  });
});

describe('queryOf (properties)', () => {
  it('returns exactly the query component of a request target, never part of a fragment', () => {
    fc.assert(
      fc.property(
        fc.webPath(),
        fc.option(fc.webQueryParameters(), { nil: undefined }),
        fc.option(fc.webFragments(), { nil: undefined }),
        (path, query, fragment) => {
          const target = `/${path.replace(/^\//, '')}${query === undefined ? '' : `?${query}`}${fragment === undefined ? '' : `#${fragment}`}`;
          expect(queryOf(target)).toBe(query ?? '');
        },
      ),
    );
  });

  it('finds no query behind a fragment that holds a question mark', () => {
    expect(queryOf('/secure-data#x?x-api-key=k')).toBe('');
    expect(queryOf('/secure-data?a=1#x?x-api-key=k')).toBe('a=1');
  });
});
