import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { headerRedactPaths, REDACTED, redactKeyShapes, redactUrl } from './redact.js';

describe('redactUrl', () => {
  it('leaves a URL without query or fragment alone', () => {
    expect(redactUrl('/secure-data')).toBe('/secure-data');
    expect(redactUrl('http://h:1/a/b')).toBe('http://h:1/a/b');
  });

  it('replaces every parameter, name included, unless its name is kept', () => {
    expect(redactUrl('/s?x-api-key=kw_secret')).toBe(`/s?${REDACTED}`);
    expect(redactUrl('/s?page=2&x-api-key=kw_secret&x-api-kye=kw_other', ['page'])).toBe(
      `/s?page=2&${REDACTED}&${REDACTED}`,
    );
    // A key pasted as a bare parameter is a name: it goes too.
    expect(redactUrl('/s?kw_secret', ['page'])).toBe(`/s?${REDACTED}`);
    // Kept names match after decoding, and `;` separates like `&`.
    expect(redactUrl('/s?p%61ge=2;x-api-key=kw_secret', ['page'])).toBe(`/s?p%61ge=2&${REDACTED}`);
  });

  it('drops the fragment, and finds no query inside it', () => {
    expect(redactUrl('/s#kw_secret')).toBe('/s');
    expect(redactUrl('/s#x?x-api-key=kw_secret')).toBe('/s');
    expect(redactUrl('/s?page=1#kw_secret', ['page'])).toBe('/s?page=1');
    expect(redactUrl('/s?')).toBe('/s');
  });

  it('cuts the path at a ; parameter or an encoded ? and redacts key-shaped segments and credentials', () => {
    const key = 'kw_RedactUrlTestKey0123456789abcdefghijkl';
    expect(redactUrl(`/s;x-api-key=${key}`)).toBe(`/s;${REDACTED}`);
    expect(redactUrl(`/s%3Fx-api-key=${key}`)).toBe(`/s?${REDACTED}`);
    expect(redactUrl(`/s%23${key}`)).toBe('/s');
    expect(redactUrl(`/s/${key}/more`)).toBe(`/s/${REDACTED}/more`);
    expect(redactUrl(`/s/${key.replace('kw_', '%6B%77%5F')}`)).toBe(`/s/${REDACTED}`);
    expect(redactUrl(`https://user:${key}@api.example/v1?page=1`, ['page'])).toBe(
      `https://${REDACTED}@api.example/v1?page=1`,
    );
    expect(redactUrl(`/s?page=${key}`, ['page'])).toBe(`/s?page=${REDACTED}`);
    // Paths without anything of the kind stay exactly as they were, escapes included.
    expect(redactUrl('/caf%C3%A9/key_01HZX0000000000000/kw_AbCd')).toBe(
      '/caf%C3%A9/key_01HZX0000000000000/kw_AbCd',
    );
  });

  it('cuts a URL longer than 2 KB before looking at it, and marks the cut', () => {
    const segments = `/${'segment/'.repeat(500)}`;
    expect(redactUrl(segments)).toBe(`${segments.slice(0, 2048)}[TRUNCATED]`);
    expect(redactUrl(segments.slice(0, 2048))).toBe(segments.slice(0, 2048));
    // A 12 KB path that made the key-shape scan slow: only 2 KB of it is ever scanned.
    expect(redactUrl(`/x/${'a_'.repeat(6000)}`)).toBe('/x/[TRUNCATED]');
    const query = redactUrl(`/s?${'page=1&'.repeat(1000)}`, ['page']);
    expect(query.length).toBeLessThan(2100);
    // Cut inside a parameter: the part of it that is left is no kept name.
    expect(query).toMatch(/^\/s\?(page=1&)+\[REDACTED\]\[TRUNCATED\]$/);
  });

  it('drops the whole of a key the 2 KB cut falls into, plain or encoded', () => {
    const key = 'kw_RedactCutTestKey0123456789abcdefghijklm';
    const encoded = key.replace(/./g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    for (const secret of [key, encoded]) {
      for (let before = 2048 - secret.length + 1; before < 2048; before += 5) {
        const head = `/${'x'.repeat(before - 2)}/`;
        const out = redactUrl(`${head}${secret}/more`);
        expect(out).toBe(`${head}[TRUNCATED]`);
      }
    }
  });

  it('never lets a key through, however it is placed or encoded (property)', () => {
    const key = fc.stringMatching(/^[A-Za-z0-9_\-.~]{12,40}$/);
    const harmless = fc.constantFrom('page', 'limit', 'sort');
    fc.assert(
      fc.property(
        key,
        fc.array(fc.tuple(harmless, fc.stringMatching(/^[a-z0-9]{0,6}$/)), { maxLength: 4 }),
        fc.constantFrom('x-api-key=K', 'K', 'K=1', 'x-api-kye=K', 'a=K&b', 'x%2Dapi%2Dkey=K', 'page=K'),
        fc.nat(4),
        (k, pairs, shape, at) => {
          const params = pairs.map(([n, v]) => `${n}=${v}`);
          params.splice(Math.min(at, params.length), 0, shape.replace('K', encodeURIComponent(k)));
          // 'page=K' is the one shape a keep list lets through: the caller vouched for `page`.
          const keep = shape === 'page=K' ? ['limit', 'sort'] : ['page', 'limit', 'sort'];
          const out = redactUrl(`/secure-data?${params.join('&')}#${k}`, keep);
          expect(out).not.toContain(k);
          expect(out.startsWith('/secure-data')).toBe(true);
        },
      ),
    );
  });
});

describe('redactKeyShapes', () => {
  it('redacts exactly what the key-shape pattern matches, found without backtracking (property)', () => {
    // The definition, as a regular expression: retried at every letter, it made long paths slow.
    const pattern = /[a-z][a-z0-9_]{0,15}_[0-9A-Za-z]{32,}/g;
    const piece = fc.oneof(
      fc.constantFrom('_', '__', 'a', 'kw', 'B', '9', '-', '/', '.', 'é', ' '),
      fc.stringMatching(/^[0-9A-Za-z]{28,40}$/),
      fc.stringMatching(/^[a-z0-9_]{1,20}$/),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 14 }), (parts) => {
        const text = parts.join('');
        expect(redactKeyShapes(text)).toBe(text.replace(pattern, REDACTED));
      }),
      { numRuns: 3000 },
    );
  });

  it('redacts text shaped like a key of any prefix, also when percent-encoded, and nothing else', () => {
    const key = 'kw_RedactShapeTestKey0123456789abcdefghij';
    expect(redactKeyShapes(`sent ${key}.`)).toBe(`sent ${REDACTED}.`);
    expect(redactKeyShapes(`live_ab_${key.slice(3)}`)).toBe(REDACTED);
    expect(redactKeyShapes(`x=${key}x`)).toBe(`x=${REDACTED}`);
    expect(redactKeyShapes(encodeURIComponent(`k=${key}`).replace(/_/g, '%5F'))).toBe(`k=${REDACTED}`);
    expect(redactKeyShapes('key_01HZX0000000000000 kw_AbCd… snake_case_name')).toBe(
      'key_01HZX0000000000000 kw_AbCd… snake_case_name',
    );
  });
});

describe('headerRedactPaths', () => {
  it('covers the header wherever a logged object keeps headers, in both spellings', () => {
    expect(headerRedactPaths(['X-API-Key'])).toEqual([
      'headers["x-api-key"]',
      '*.headers["x-api-key"]',
      '*.*.headers["x-api-key"]',
      'headers["X-API-Key"]',
      '*.headers["X-API-Key"]',
      '*.*.headers["X-API-Key"]',
    ]);
  });
});
