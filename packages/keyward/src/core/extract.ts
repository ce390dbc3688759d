import type { KeySource } from './request.js';
import type { ApiKeyScheme } from './schemes.js';

/** The key was given more than once in the same place: rejected, never resolved by picking one. */
export const DUPLICATE: unique symbol = Symbol('keyward.duplicate');

/** A key string, `undefined` when absent or empty, or {@link DUPLICATE}. */
export type Extracted = string | undefined | typeof DUPLICATE;

/**
 * Strips HTTP optional whitespace (SP and HTAB, RFC 9110 §5.6.3) and nothing else.
 * `String#trim` would also drop NBSP and other Unicode spaces, so a padded value that no
 * HTTP parser or cookie library treats as the key would still authenticate here.
 */
function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && (value.charCodeAt(start) === 32 || value.charCodeAt(start) === 9)) start++;
  while (end > start && (value.charCodeAt(end - 1) === 32 || value.charCodeAt(end - 1) === 9)) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

function fromHeader(value: string | readonly string[] | undefined): Extracted {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    if (value.length === 0) return undefined;
    if (value.length > 1) return DUPLICATE;
    value = value[0]!;
  }
  // Fetch and Node join repeated header lines with ", "; a key never holds a comma.
  if (value.includes(',')) return DUPLICATE;
  const key = trimOws(value);
  return key === '' ? undefined : key;
}

function decodeCookieValue(raw: string): string {
  let value = trimOws(raw);
  if (value.length > 1 && value.charCodeAt(0) === 34 && value.charCodeAt(value.length - 1) === 34) {
    value = value.slice(1, -1);
  }
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value; // as the `cookie` package does: a malformed escape is kept verbatim
  }
}

/**
 * Reads one cookie by exact name from a `Cookie` header, counting repeats. Parsing
 * libraries resolve repeats by keeping one value, which is exactly what an auth check
 * must not do, hence this small scanner.
 */
export function cookieValue(header: string | readonly string[] | undefined, name: string): Extracted {
  if (header === undefined) return undefined;
  const text = typeof header === 'string' ? header : header.join('; ');
  if (!text.includes(name)) return undefined;
  let found: string | undefined;
  let count = 0;
  let start = 0;
  // The next '=' at or after `start` (text.length when none), found once and reused until
  // passed: searching from each segment's start would rescan the rest of the header once per
  // segment, quadratic in `;;;;...` headers.
  let eq = -1;
  while (start < text.length) {
    let end = text.indexOf(';', start);
    if (end === -1) end = text.length;
    if (eq < start) {
      eq = text.indexOf('=', start);
      if (eq === -1) eq = text.length;
    }
    if (eq < end && trimOws(text.slice(start, eq)) === name) {
      count++;
      found = decodeCookieValue(text.slice(eq + 1, end));
    }
    start = end + 1;
  }
  if (count > 1) return DUPLICATE;
  return found === '' ? undefined : found;
}

function decodeQueryComponent(raw: string): string | undefined {
  const plus = raw.includes('+') ? raw.replace(/\+/g, ' ') : raw;
  if (!plus.includes('%')) return plus;
  try {
    return decodeURIComponent(plus);
  } catch {
    return undefined; // malformed escape: not a usable name or value
  }
}

/**
 * Reads one query parameter by exact (decoded) name, counting repeats. `name[]` and
 * `name[0]` are other names and never match.
 */
export function queryValue(query: string, name: string): Extracted {
  if (query === '') return undefined;
  let found: string | undefined;
  let count = 0;
  let start = 0;
  // As in cookieValue: the next '=' is searched for once, not once per segment.
  let nextEq = -1;
  while (start <= query.length) {
    let end = query.indexOf('&', start);
    if (end === -1) end = query.length;
    if (end > start) {
      if (nextEq < start) {
        nextEq = query.indexOf('=', start);
        if (nextEq === -1) nextEq = query.length;
      }
      const eq = Math.min(nextEq, end);
      const rawName = query.slice(start, eq);
      const matches =
        rawName === name || (rawName.length >= name.length && decodeQueryComponent(rawName) === name);
      if (matches) {
        count++;
        // A malformed value escape becomes a value no key can equal, so it fails as invalid.
        found = eq === end ? '' : (decodeQueryComponent(query.slice(eq + 1, end)) ?? '\u0000');
      }
    }
    start = end + 1;
  }
  if (count > 1) return DUPLICATE;
  return found === '' ? undefined : found;
}

/**
 * The credentials of an `Authorization: Bearer <token>` value. Another auth-scheme, or
 * none, is no key (FastAPI's `HTTPBearer` answers both as not authenticated).
 */
function fromBearer(value: string | readonly string[] | undefined): Extracted {
  const header = fromHeader(value);
  if (typeof header !== 'string') return header;
  // RFC 9110 §11.4: auth-scheme, then one or more SP; the scheme is case-insensitive.
  if (header.length < 7 || header.charCodeAt(6) !== 32 || header.slice(0, 6).toLowerCase() !== 'bearer') {
    return undefined;
  }
  const token = trimOws(header.slice(7));
  return token === '' ? undefined : token;
}

/** Reads the key for one scheme from a request. */
export function extractKey(scheme: ApiKeyScheme, source: KeySource): Extracted {
  if (scheme.kind === 'bearer') return fromBearer(source.header(scheme.lookupName));
  switch (scheme.in) {
    case 'header':
      return fromHeader(source.header(scheme.lookupName));
    case 'cookie':
      return cookieValue(source.header('cookie'), scheme.name);
    case 'query':
      return queryValue(source.query(), scheme.name);
  }
}
