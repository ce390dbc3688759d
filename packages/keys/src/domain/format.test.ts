import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { KeywardConfigError } from 'keyward';
import { describe, expect, it } from 'vitest';
import { BASE62, decodeFixed, encodeFixed } from './base62.js';
import { keyFormat } from './format.js';

const kw = keyFormat();
const base62Char = fc.constantFrom(...BASE62);

describe('key format v1', () => {
  it('generates kw_ + 38 base62 characters whose checksum verifies', () => {
    fc.assert(
      fc.property(fc.constant(null), () => {
        const key = kw.generate();
        expect(key).toMatch(/^kw_[0-9A-Za-z]{38}$/);
        expect(kw.classify(key)).toBe('valid');
        expect(decodeFixed(key, 35, 41)).toBe(crc32(key.slice(0, 35)));
      }),
      { numRuns: 500 },
    );
  });

  it("checks the checksum as zlib's CRC-32 of the prefix and body, for any prefix and body", () => {
    const prefixes = fc.constantFrom('kw', 'a', 'acme_live', 'z9', 'sk_test_2');
    fc.assert(
      fc.property(prefixes, fc.array(base62Char, { minLength: 32, maxLength: 32 }), (prefix, chars) => {
        const text = `${prefix}_${chars.join('')}`;
        const sum = crc32(text);
        const format = keyFormat(prefix);
        expect(format.classify(text + encodeFixed(sum, 6))).toBe('valid');
        expect(format.classify(text + encodeFixed((sum + 1) % 2 ** 32, 6))).toBe('malformed');
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects characters outside ASCII even where their low byte is a base62 character', () => {
    // U+0141 'Ł' and U+FF21 'Ａ' end in 0x41 ('A'): a checksum over the low bytes alone
    // would be fooled, the alphabet check is not.
    let key = kw.generate();
    while (key.indexOf('A', 3) < 0 || key.indexOf('A', 3) >= key.length - 6) key = kw.generate();
    const at = key.indexOf('A', 3);
    for (const c of ['\u0141', '\uff21', '\ud800']) {
      expect(kw.classify(key.slice(0, at) + c + key.slice(at + 1))).toBe('malformed');
    }
  });

  it('rejects every single-character change by arithmetic alone', () => {
    fc.assert(
      fc.property(fc.nat(37), base62Char, (pos, c) => {
        const key = kw.generate();
        const at = 3 + pos;
        fc.pre(key[at] !== c);
        const changed = key.slice(0, at) + c + key.slice(at + 1);
        expect(kw.classify(changed)).toBe('malformed');
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects our prefix with a wrong length or alphabet, and made-up bodies', () => {
    fc.assert(
      fc.property(fc.string({ unit: base62Char, minLength: 0, maxLength: 80 }), (body) => {
        fc.pre(body.length !== 38);
        expect(kw.classify(`kw_${body}`)).toBe('malformed');
      }),
    );
    const key = kw.generate();
    expect(kw.classify(`${key.slice(0, 10)}-${key.slice(11)}`)).toBe('malformed');
    // A random 38-character body passes a 32-bit checksum about once in 4 billion tries.
    fc.assert(
      fc.property(fc.string({ unit: base62Char, minLength: 38, maxLength: 38 }), (body) => {
        expect(kw.classify(`kw_${body}`)).toBe('malformed');
      }),
    );
  });

  it('leaves other shapes to the store (legacy keys)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 100 }), (text) => {
        fc.pre(!text.startsWith('kw_'));
        expect(kw.classify(text)).toBe('foreign');
      }),
    );
    // Another prefix's valid key is foreign to us.
    expect(kw.classify(keyFormat('sk_live').generate())).toBe('foreign');
  });

  it('binds the checksum to the prefix', () => {
    const other = keyFormat('kx').generate();
    expect(kw.classify(`kw_${other.slice(3)}`)).toBe('malformed');
  });

  it('accepts lower-case prefixes with inner underscores and refuses others', () => {
    for (const prefix of ['k', 'kw', 'sk_live', 'acme2']) {
      const f = keyFormat(prefix);
      expect(f.classify(f.generate())).toBe('valid');
    }
    for (const prefix of ['', 'KW', 'kw_', '_kw', '2kw', 'kw-x', 'a'.repeat(17)]) {
      expect(() => keyFormat(prefix)).toThrow(KeywardConfigError);
    }
  });

  it('displays at most four characters of the secret part', () => {
    const key = kw.generate();
    expect(kw.display(key)).toBe(`${key.slice(0, 7)}…`);
    expect(kw.display('legacy-key-0123456789')).toBe('lega…');
    expect(kw.display('short-key-123456')).toBe('shor…');
    expect(kw.display('abcdefgh')).toBe('ab…');
  });
});

describe('base62', () => {
  it('round-trips fixed-width numbers and sorts like them', () => {
    fc.assert(
      fc.property(fc.nat(0xffffffff), fc.nat(0xffffffff), (a, b) => {
        const ea = encodeFixed(a, 6);
        expect(decodeFixed(ea, 0, 6)).toBe(a);
        expect(ea < encodeFixed(b, 6)).toBe(a < b);
      }),
    );
    expect(() => encodeFixed(62 ** 2, 2)).toThrow(RangeError);
  });

  it('draws every character of the alphabet', () => {
    const seen = new Set(Array.from({ length: 200 }, () => kw.generate().slice(3, 35)).join(''));
    expect(seen.size).toBe(62);
  });
});
