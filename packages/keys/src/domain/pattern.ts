import { CHECKSUM_LENGTH, type KeyFormat, RANDOM_LENGTH } from './format.js';

/**
 * What a secret scanner needs to find keys of one deployment's format: a regular
 * expression for its prefix, and how to tell a real key from a look-alike offline.
 */
export interface KeyPattern {
  readonly prefix: string;
  /**
   * The scanner regex, in the syntax RE2, Go (gitleaks), Hyperscan, PCRE and JavaScript
   * share: `\b<prefix>_[0-9A-Za-z]{38}\b`.
   */
  readonly regex: string;
  /** Characters of a key: the prefix, `_`, 32 random and 6 checksum characters. */
  readonly length: number;
  /** The offline check that discards random matches. */
  readonly checksum: {
    readonly algorithm: 'crc32';
    /** What the CRC-32 (IEEE 802.3, as zlib computes it) is taken of. */
    readonly input: string;
    /** How it is written at the end of the key. */
    readonly encoding: string;
  };
}

/** The scanner pattern of a key format (see {@link KeyPattern}). */
export function keyPattern(format: KeyFormat): KeyPattern {
  const body = RANDOM_LENGTH + CHECKSUM_LENGTH;
  return Object.freeze({
    prefix: format.prefix,
    // Prefixes are [a-z0-9_] only: nothing to escape.
    regex: `\\b${format.prefix}_[0-9A-Za-z]{${body}}\\b`,
    length: format.prefix.length + 1 + body,
    checksum: Object.freeze({
      algorithm: 'crc32' as const,
      input: `the first ${format.prefix.length + 1 + RANDOM_LENGTH} characters (prefix, "_" and ${RANDOM_LENGTH} random characters), as ASCII`,
      encoding: `the last ${CHECKSUM_LENGTH} characters: the CRC as a big-endian base62 number, digits 0-9A-Za-z in ASCII order, zero-padded`,
    }),
  });
}

/** A gitleaks rule (TOML) for a key format. */
export function gitleaksRule(format: KeyFormat): string {
  const p = keyPattern(format);
  return [
    '[[rules]]',
    `id = "keyward-${p.prefix.replaceAll('_', '-')}"`,
    `description = "keyward API key (prefix ${p.prefix})"`,
    `regex = '''${p.regex}'''`,
    `keywords = ["${p.prefix}_"]`,
    '',
  ].join('\n');
}

/** One key-shaped match in a text, with whether its checksum holds. */
export interface KeyMatch {
  /** The matched text: a key or a look-alike. Never print it; print `format.display(key)`. */
  readonly key: string;
  /** Offset of the match in the text. */
  readonly index: number;
  /** The checksum holds: almost surely a key this format issued (1 in 2^32 otherwise). */
  readonly valid: boolean;
}

/** Every key-shaped string in `text`, with its checksum checked offline. */
export function findKeys(text: string, format: KeyFormat): KeyMatch[] {
  const regex = new RegExp(keyPattern(format).regex, 'g');
  const out: KeyMatch[] = [];
  for (const m of text.matchAll(regex)) {
    out.push({ key: m[0], index: m.index, valid: format.classify(m[0]) === 'valid' });
  }
  return out;
}
