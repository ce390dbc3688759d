import type { RateLimit } from '../store/types.js';
import { KeyInputError } from './errors.js';
import { keyFormat } from './format.js';

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const MAX_DURATION = 100 * 365 * UNITS['d']!;

/**
 * Input repeated in a message only when it cannot be a key: keys are at least 16
 * characters, and a key pasted into the wrong option must not be printed back.
 */
function quoted(text: string): string {
  return /^[\x20-\x7e]{0,15}$/.test(text) ? JSON.stringify(text) : '(not repeated: it may be a key)';
}

/** Parses `30s`, `15m`, `24h`, `30d` (or `0`) into milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d{1,12})([smhd])$/.exec(text.trim());
  if (text.trim() === '0') return 0;
  const ms = m ? Number(m[1]) * UNITS[m[2]!]! : Number.NaN;
  if (!(ms <= MAX_DURATION)) {
    throw new KeyInputError(
      `invalid duration ${quoted(text)}: use a whole number and a unit, e.g. 30s, 15m, 24h, 30d`,
    );
  }
  return ms;
}

/** A duration given as milliseconds or as text. */
export function durationMs(value: number | string, what: string): number {
  if (typeof value === 'string') return parseDuration(value);
  if (!Number.isSafeInteger(value) || value < 0 || value > MAX_DURATION) {
    throw new KeyInputError(`${what} must be a whole number of milliseconds from 0 to 100 years`);
  }
  return value;
}

/** Parses `100/1m` (or `100/m`, `10/s`) into a rate limit. */
export function parseRateLimit(text: string): RateLimit {
  const m = /^(\d{1,10})\/(\d{0,9})([smhd])$/.exec(text.trim());
  if (!m) throw new KeyInputError(`invalid rate limit ${quoted(text)}: use requests/window, e.g. 100/1m`);
  const windowMs = Number(m[2] || '1') * UNITS[m[3]!]!;
  return checkRateLimit({ limit: Number(m[1]), windowSeconds: windowMs / 1000 });
}

export function checkRateLimit(value: RateLimit | string): RateLimit {
  if (typeof value === 'string') return parseRateLimit(value);
  const { limit, windowSeconds } = value ?? {};
  if (!Number.isInteger(limit) || limit < 1 || limit > 1e9) {
    throw new KeyInputError('rate limit must allow 1 to 1,000,000,000 requests');
  }
  if (!Number.isInteger(windowSeconds) || windowSeconds < 1 || windowSeconds > 366 * 86_400) {
    throw new KeyInputError('rate limit window must be 1 second to 366 days');
  }
  return Object.freeze({ limit, windowSeconds });
}

const SCOPE = /^[A-Za-z0-9][A-Za-z0-9_.:/*-]{0,63}$/;
/**
 * What a terminal acts on instead of printing: C0 and C1 controls (U+009B is a one-byte
 * CSI, U+009D an OSC), DEL, the line and paragraph separators, and the bidirectional
 * marks, embeddings, overrides and isolates that make text display in another order than
 * it is stored ("admin\u202Eatad" shows as "admin" followed by reversed text).
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
/** In metadata, C0 controls such as a newline stay allowed: JSON escapes them wherever it is printed. */
const DISPLAY_CONTROL = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
// JavaScript strings may hold NUL and unpaired surrogates, but PostgreSQL's jsonb refuses
// both and UTF-8 cannot carry a lone surrogate (it would be stored altered): refused
// up front, the same for every store.
const UNSTORABLE = /\u0000|[\ud800-\udfff]/u;

/** An underscore followed by exactly 38 base62 characters: where a key's body starts. */
const KEY_BODY = /_(?=[0-9A-Za-z]{38}(?![0-9A-Za-z]))/g;
const PREFIX_CHAR = /[a-z0-9_]/;

/**
 * Whether `text` holds a well-formed key of any prefix (right length and checksum): one
 * pasted into a name, owner, scope or metadata would be stored in plain text and printed
 * by every listing. The checksum makes a false match about one in four billion.
 */
export function containsKey(text: string): boolean {
  if (text.length < 40) return false;
  for (const m of text.matchAll(KEY_BODY)) {
    const end = m.index;
    // Every prefix (1-16 characters) that ends at this underscore is a candidate.
    for (let start = end - 1; start >= 0 && end - start <= 16 && PREFIX_CHAR.test(text[start]!); start--) {
      const prefix = text.slice(start, end);
      if (!/^[a-z](?:[a-z0-9_]*[a-z0-9])?$/.test(prefix)) continue;
      if (keyFormat(prefix).classify(text.slice(start, end + 39)) === 'valid') return true;
    }
  }
  return false;
}

/** Scopes: letters, digits and `_ . : / * -`, 1-64 characters, deduplicated, at most 100. */
export function checkScopes(scopes: readonly string[] | string): readonly string[] {
  const list =
    typeof scopes === 'string'
      ? scopes
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : scopes;
  if (!Array.isArray(list)) throw new KeyInputError('scopes must be a list of strings');
  for (const s of list) {
    if (typeof s !== 'string' || !SCOPE.test(s) || containsKey(s)) {
      throw new KeyInputError(
        `invalid scope ${typeof s === 'string' ? quoted(s) : typeof s}: use letters, digits and _ . : / * - (at most 64 characters)`,
      );
    }
  }
  const unique = [...new Set(list as string[])];
  if (unique.length > 100) throw new KeyInputError('a key can hold at most 100 scopes');
  return Object.freeze(unique);
}

/** A name or owner: 1-200 characters, no control or bidirectional formatting characters. */
export function checkLabel(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > 200 || CONTROL.test(value)) {
    throw new KeyInputError(
      `${what} must be 1-200 characters without control or bidirectional formatting characters`,
    );
  }
  if (UNSTORABLE.test(value)) throw new KeyInputError(`${what} must not contain unpaired surrogates`);
  if (containsKey(value)) throw new KeyInputError(`${what} must not contain an API key`);
  return value.trim();
}

/** Metadata: a JSON object of at most 16 KiB. */
export function checkMetadata(value: unknown): Readonly<Record<string, unknown>> {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    // falls through to the error below
  }
  if (text === undefined || typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new KeyInputError('metadata must be a JSON object');
  }
  if (text.length > 16_384) throw new KeyInputError('metadata must be at most 16 KiB of JSON');
  const parsed = JSON.parse(text) as Record<string, unknown>;
  if (!storable(parsed)) {
    throw new KeyInputError('metadata must not contain NUL characters or unpaired surrogates');
  }
  if (DISPLAY_CONTROL.test(text)) {
    throw new KeyInputError(
      'metadata must not contain C1 controls, DEL or bidirectional formatting characters',
    );
  }
  if (containsKey(text)) throw new KeyInputError('metadata must not contain an API key');
  return parsed;
}

/** Whether every string (names and values) in parsed JSON is storable; iterative, as nesting may be deep. */
function storable(root: unknown): boolean {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value === 'string') {
      if (UNSTORABLE.test(value)) return false;
    } else if (typeof value === 'object' && value !== null) {
      for (const [name, inner] of Object.entries(value)) stack.push(name, inner);
    }
  }
  return true;
}

/** Remaining uses: a whole number from 0, or null for unlimited. */
export function checkUses(value: unknown): number | null {
  if (value === null) return null;
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new KeyInputError('uses must be a whole number from 0');
  }
  return value as number;
}
