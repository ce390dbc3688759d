/** What every redacted value is replaced with. */
export const REDACTED = '[REDACTED]';

const UNDERSCORE = 95;
// Character classes of ASCII, one bit each: no regular expression, no backtracking.
const BASE62 = 1;
const LOWER = 2;
const PREFIX = 4;
const CLASSES = new Uint8Array(128);
for (let c = 48; c <= 57; c++) CLASSES[c] = BASE62 | PREFIX;
for (let c = 65; c <= 90; c++) CLASSES[c] = BASE62;
for (let c = 97; c <= 122; c++) CLASSES[c] = BASE62 | LOWER | PREFIX;
CLASSES[UNDERSCORE] = PREFIX;
const is = (c: number, kind: number) => c < 128 && (CLASSES[c]! & kind) !== 0;
/** Base62 characters after the prefix's `_` that make text key-shaped. */
const BODY_MIN = 32;
/** Longest key prefix: a lower-case letter, then up to 15 lower-case letters, digits or `_`. */
const PREFIX_MAX = 16;

/**
 * Replaces text shaped like a keyward key: a key prefix (lower-case letters, digits, inner
 * underscores), `_`, then 32 or more base62 characters. An issued key has 38 (32 random,
 * 6 checksum); shorter or longer runs are truncated or run-on keys, secrets all the same.
 * Key ids (`key_` and 18 characters) and display fragments (`kw_AbCd…`) do not match.
 *
 * What `/[a-z][a-z0-9_]{0,15}_[0-9A-Za-z]{32,}/g` would replace, found in one pass: the
 * regular expression retries up to 16 prefix lengths at every letter, which made a long
 * logged path like `/a_a_a_…` cost milliseconds per request. A match ends with a whole
 * base62 run of 32 or more right after a `_`, so only runs after a `_` are measured, and
 * the prefix is found by walking back at most 16 characters from each. `undefined` when
 * there is none.
 */
function replaceKeyShapes(text: string): string | undefined {
  let out: string | undefined;
  let last = 0; // end of the previous match: the next one starts at or after it
  const n = text.length;
  // The body follows a `_` (which is no base62 character): find each `_` natively, then
  // measure the run after it. Runs after different underscores never overlap.
  let underscore = text.indexOf('_');
  while (underscore !== -1) {
    let end = underscore + 1;
    while (end < n && is(text.charCodeAt(end), BASE62)) end++;
    if (end - underscore > BODY_MIN && underscore >= last) {
      // The leftmost start: prefix characters back from the `_`, the first a letter.
      let from = underscore;
      while (from > last && underscore - from < PREFIX_MAX && is(text.charCodeAt(from - 1), PREFIX)) from--;
      while (from < underscore && !is(text.charCodeAt(from), LOWER)) from++;
      if (from < underscore) {
        out = `${out ?? ''}${text.slice(last, from)}${REDACTED}`;
        last = end;
      }
    }
    underscore = text.indexOf('_', end);
  }
  return out === undefined ? undefined : out + text.slice(last);
}

const ESCAPES = /(?:%[0-9A-Fa-f]{2})+/g;

function decodeName(raw: string): string {
  const plus = raw.includes('+') ? raw.replace(/\+/g, ' ') : raw;
  try {
    return decodeURIComponent(plus);
  } catch {
    return plus;
  }
}

function decodeRun(run: string): string {
  try {
    return decodeURIComponent(run);
  } catch {
    // Not UTF-8: byte by byte, which keeps every ASCII character a key is made of.
    let out = '';
    for (let i = 0; i < run.length; i += 3)
      out += String.fromCharCode(Number.parseInt(run.slice(i + 1, i + 3), 16));
    return out;
  }
}

/**
 * Decodes every well-formed `%XX` escape, leaving malformed ones as they are, twice over
 * (a doubly encoded key is decoded too). Never throws.
 */
export function decodeLenient(text: string): string {
  let out = text;
  for (let round = 0; round < 2 && out.includes('%'); round++) out = out.replace(ESCAPES, decodeRun);
  return out;
}

/**
 * Replaces text shaped like a key by `[REDACTED]`, also when it is percent-encoded (the
 * text is then returned decoded). Text without a key is returned as it is.
 */
export function redactKeyShapes(text: string): string {
  let out = replaceKeyShapes(text) ?? text;
  if (out.includes('%')) {
    const decoded = replaceKeyShapes(decodeLenient(out));
    if (decoded !== undefined) out = decoded;
  }
  return out;
}

const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i;

/**
 * The path part of a URL, safe to log: credentials before the host replaced, and when the
 * path holds `;` parameters, an encoded `?` or `#`, or text shaped like a key, the path
 * decoded, cut at the first of them, and any key-shaped text redacted.
 */
function redactPath(path: string): string {
  let p = path;
  if (p.includes('@')) p = p.replace(USERINFO, `$1${REDACTED}@`);
  const decoded = p.includes('%') ? decodeLenient(p) : p;
  let cut = -1;
  for (let i = 0; i < decoded.length; i++) {
    const c = decoded.charCodeAt(i);
    if (c === 59 || c === 63 || c === 35) {
      cut = i;
      break;
    }
  }
  if (cut !== -1) {
    const mark = decoded[cut] === '#' ? '' : `${decoded[cut]}${REDACTED}`;
    return redactKeyShapes(decoded.slice(0, cut)) + mark;
  }
  return replaceKeyShapes(decoded) ?? p;
}

/**
 * A URL or request target that is safe to log. The fragment is dropped, and in the query
 * only parameters named in `keep` (matched after decoding, e.g. `page`) keep their value;
 * every other parameter is replaced whole, name included, by `[REDACTED]`. The path is
 * kept, except what can carry a key there: `;` parameters and anything after an encoded
 * `?` (replaced by `[REDACTED]`), text shaped like a key (`/kw_…`), and credentials
 * before the host.
 *
 * Why whole parameters and not just the values of the key's parameter name: clients
 * misspell the name (`?x-api-kye=...`) or paste the bare key (`?kw_...`), in which case the
 * key is a name. Redacting everything not known to be harmless is the rule that never
 * leaks; the count of `[REDACTED]` entries still shows how the query was shaped.
 * `;` counts as a separator too, since some servers split on it.
 *
 * A URL longer than 2,048 characters is cut to that before anything else, and marked
 * with `[TRUNCATED]`: a logged path costs bounded work and log space, however long.
 */
export function redactUrl(url: string, keep: readonly string[] = []): string {
  return url.length > MAX_URL_LENGTH ? redactWhole(cutUrl(url), keep) + TRUNCATED : redactWhole(url, keep);
}

/** Longest URL {@link redactUrl} looks at. */
const MAX_URL_LENGTH = 2048;
/** Marks a URL cut to {@link MAX_URL_LENGTH}. */
const TRUNCATED = '[TRUNCATED]';
const PERCENT = 37;

/**
 * The first {@link MAX_URL_LENGTH} characters of a URL. When the cut falls inside a run of
 * characters a key or its escapes are made of, the whole run goes: what is kept of a key
 * cut short would be too short to be recognised, and still most of a secret.
 */
function cutUrl(url: string): string {
  const inToken = (i: number) => {
    const c = url.charCodeAt(i);
    return c === PERCENT || is(c, BASE62 | PREFIX);
  };
  let end = MAX_URL_LENGTH;
  if (inToken(end)) while (end > 0 && inToken(end - 1)) end--;
  return url.slice(0, end);
}

function redactWhole(url: string, keep: readonly string[]): string {
  const hash = url.indexOf('#');
  let q = url.indexOf('?');
  if (hash !== -1 && q > hash) q = -1;
  const pathEnd = q !== -1 ? q : hash !== -1 ? hash : url.length;
  const path = redactPath(url.slice(0, pathEnd));
  if (q === -1) return path;
  const query = url.slice(q + 1, hash === -1 ? url.length : hash);
  if (query === '') return path;
  const parts = query.split(/[&;]/).map((part) => {
    if (keep.length === 0) return REDACTED;
    const eq = part.indexOf('=');
    const name = decodeName(eq === -1 ? part : part.slice(0, eq));
    // A kept name vouches for its value, but not for a key pasted into it.
    return keep.includes(name) ? redactKeyShapes(part) : REDACTED;
  });
  return `${path}?${parts.join('&')}`;
}

/**
 * pino redaction paths for headers that can carry a key, wherever a logged object keeps
 * them: `headers`, `req.headers`, `err.config.headers`, ... Names are lower-cased as Node
 * delivers them, and also kept as given for objects built by hand.
 *
 * @deprecated Path-based redaction misses other letter cases, deeper nesting, `rawHeaders`
 * and request objects, and pino's path walker can throw on objects with getters (a fetch
 * `Request`, an Express `req`). Use `createLogger`, which does not rely on paths.
 */
export function headerRedactPaths(names: readonly string[]): string[] {
  const variants = new Set<string>();
  for (const name of names) {
    variants.add(name.toLowerCase());
    variants.add(name);
  }
  const paths: string[] = [];
  for (const name of variants) {
    const key = `[${JSON.stringify(name)}]`;
    paths.push(`headers${key}`, `*.headers${key}`, `*.*.headers${key}`);
  }
  return paths;
}
