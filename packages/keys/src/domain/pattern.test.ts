import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { keyFormat } from './format.js';
import { findKeys, gitleaksRule, keyPattern } from './pattern.js';

const acme = keyFormat('acme_live');
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** The checksum check as docs/operations/leaks.md tells a scanner to write it. */
function documentedCheck(candidate: string, prefix: string): boolean {
  const head = prefix.length + 1 + 32;
  let value = 0;
  for (const c of candidate.slice(head)) value = value * 62 + ALPHABET.indexOf(c);
  return value === crc32(candidate.slice(0, head));
}

describe('keyPattern', () => {
  it('matches every generated key, whole, and the documented checksum check accepts it', () => {
    const { regex, length } = keyPattern(acme);
    expect(regex).toBe('\\bacme_live_[0-9A-Za-z]{38}\\b');
    const re = new RegExp(`^${regex}$`);
    for (let i = 0; i < 200; i++) {
      const key = acme.generate();
      expect(key).toMatch(re);
      expect(key.length).toBe(length);
      expect(documentedCheck(key, 'acme_live')).toBe(true);
    }
  });

  it('finds keys in text, tells look-alikes apart offline, and ignores keys glued to other words', () => {
    const live = acme.generate();
    const lookAlike = `acme_live_${'A'.repeat(38)}`;
    const otherPrefix = keyFormat('kw').generate();
    const text = `token=${live}\n"${lookAlike}"\nx${live} ${live}x ${otherPrefix} acme_live_short`;
    const found = findKeys(text, acme);
    expect(found.map((m) => [m.key, m.valid])).toEqual([
      [live, true],
      [lookAlike, false],
    ]);
    expect(found[0]!.index).toBe(6);
    expect(documentedCheck(lookAlike, 'acme_live')).toBe(false);
  });

  it('prints a gitleaks rule with the same regex and a keyword', () => {
    const rule = gitleaksRule(acme);
    expect(rule).toContain('id = "keyward-acme-live"');
    expect(rule).toContain(`regex = '''${keyPattern(acme).regex}'''`);
    expect(rule).toContain('keywords = ["acme_live_"]');
  });
});
