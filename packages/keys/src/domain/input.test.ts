import { describe, expect, it } from 'vitest';
import { KeyInputError } from './errors.js';
import { keyFormat } from './format.js';
import {
  checkLabel,
  checkMetadata,
  checkScopes,
  containsKey,
  parseDuration,
  parseRateLimit,
} from './input.js';

describe('durations', () => {
  it('parses 30s, 15m, 24h, 30d and 0', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('24h')).toBe(86_400_000);
    expect(parseDuration('30d')).toBe(2_592_000_000);
    expect(parseDuration('0')).toBe(0);
  });

  it('rejects anything else with a message naming the accepted forms', () => {
    for (const bad of ['', '10', '1w', '-1d', '1.5h', '30 d', 'd', '99999999999d', 'NaN']) {
      expect(() => parseDuration(bad)).toThrow(KeyInputError);
    }
    expect(() => parseDuration('3w')).toThrow(/30s, 15m, 24h, 30d/);
  });
});

describe('rate limits', () => {
  it('parses requests/window', () => {
    expect(parseRateLimit('100/1m')).toEqual({ limit: 100, windowSeconds: 60 });
    expect(parseRateLimit('10/s')).toEqual({ limit: 10, windowSeconds: 1 });
    expect(parseRateLimit('5/2h')).toEqual({ limit: 5, windowSeconds: 7200 });
  });

  it('rejects zero, missing windows and junk', () => {
    for (const bad of ['0/1m', '100', '100/0m', '100/1w', 'x/1m', '/1m']) {
      expect(() => parseRateLimit(bad)).toThrow(KeyInputError);
    }
  });
});

describe('scopes and metadata', () => {
  it('accepts lists or comma text, deduplicated', () => {
    expect(checkScopes('read, admin,read')).toEqual(['read', 'admin']);
    expect(checkScopes(['users:read', 'files/*'])).toEqual(['users:read', 'files/*']);
    expect(checkScopes('')).toEqual([]);
  });

  it('rejects scopes with spaces, quotes or control characters', () => {
    for (const bad of [['a b'], ['"x"'], ['x\n'], [''], ['a'.repeat(65)]]) {
      expect(() => checkScopes(bad)).toThrow(KeyInputError);
    }
  });

  it('takes a JSON object of at most 16 KiB', () => {
    expect(checkMetadata({ a: 1 })).toEqual({ a: 1 });
    for (const bad of [[], null, 'x', 3, { big: 'x'.repeat(17_000) }]) {
      expect(() => checkMetadata(bad)).toThrow(KeyInputError);
    }
  });
});

describe('key material in settings', () => {
  it('finds a well-formed key of any prefix inside text, and nothing else', () => {
    for (const prefix of ['kw', 'sk_live', 'a']) {
      const key = keyFormat(prefix).generate();
      for (const text of [key, `old:${key}.`, `x_${key}`, `${key} and more`])
        expect(containsKey(text)).toBe(true);
      // One character off: the checksum no longer matches.
      const off = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
      expect(containsKey(off)).toBe(false);
      expect(containsKey(`${key}0`)).toBe(false);
    }
    expect(containsKey('key_0VcFG37PkiXmTAAFvq and a name')).toBe(false);
  });

  it('refuses names, scopes and metadata holding a key, without repeating it', () => {
    const key = keyFormat().generate();
    for (const check of [
      () => checkLabel(`rotate ${key}`, 'name'),
      () => checkScopes(['read', key]),
      () => checkMetadata({ [key]: 1 }),
      () => checkMetadata({ deep: [{ note: key }] }),
    ]) {
      expect(check).toThrow(KeyInputError);
      expect(check).not.toThrow(key.slice(3));
    }
  });

  it('quotes a bad value back only when it is too short to be a key', () => {
    expect(() => parseDuration('3w')).toThrow('invalid duration "3w"');
    const legacy = 'legacy-Sk3tQm9ZpX2v8RrLwN4bYc7Hd1Jf6Ug';
    for (const check of [
      () => parseDuration(legacy),
      () => parseRateLimit(legacy),
      () => checkScopes([`${legacy}+`]),
    ]) {
      expect(check).toThrow('(not repeated: it may be a key)');
    }
  });
});

describe('terminal controls', () => {
  // C1 (U+0080-U+009F, with U+009B CSI and U+009D OSC), DEL, line separators and every
  // bidirectional mark, embedding, override and isolate.
  const controls = [
    ...Array.from({ length: 32 }, (_, i) => 0x80 + i),
    0x7f,
    0x061c,
    0x200e,
    0x200f,
    0x2028,
    0x2029,
    0x202a,
    0x202b,
    0x202c,
    0x202d,
    0x202e,
    0x2066,
    0x2067,
    0x2068,
    0x2069,
  ].map((c) => String.fromCharCode(c));

  it('refuses them in names, owners and metadata (names and values)', () => {
    for (const c of controls) {
      const code = c.charCodeAt(0).toString(16);
      expect(() => checkLabel(`admin${c}atad`, 'name'), code).toThrow(/without control or bidirectional/);
      expect(() => checkMetadata({ note: `x${c}31m` }), code).toThrow(KeyInputError);
      expect(() => checkMetadata({ [`k${c}`]: 1 }), code).toThrow(KeyInputError);
    }
  });

  it('keeps what is only text: other languages, emoji, and C0 controls inside metadata', () => {
    expect(checkLabel('Rechnungsstelle für Kunden – ميزان 🔑', 'name')).toBe(
      'Rechnungsstelle für Kunden – ميزان 🔑',
    );
    expect(checkMetadata({ note: 'line one\nline two\t' })).toEqual({ note: 'line one\nline two\t' });
  });
});
