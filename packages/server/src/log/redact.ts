/** What every redacted value is replaced with. */
export const REDACTED = '[REDACTED]';

function decodeName(raw: string): string {
  const plus = raw.includes('+') ? raw.replace(/\+/g, ' ') : raw;
  try {
    return decodeURIComponent(plus);
  } catch {
    return plus;
  }
}

/**
 * A URL or request target that is safe to log. The path is kept, the fragment dropped,
 * and in the query only parameters named in `keep` (matched after decoding, e.g. `page`)
 * keep their value; every other parameter is replaced whole, name included, by
 * `[REDACTED]`.
 *
 * Why whole parameters and not just the values of the key's parameter name: clients
 * misspell the name (`?x-api-kye=...`) or paste the bare key (`?kw_...`), in which case the
 * key is a name. Redacting everything not known to be harmless is the rule that never
 * leaks; the count of `[REDACTED]` entries still shows how the query was shaped.
 * `;` counts as a separator too, since some servers split on it.
 */
export function redactUrl(url: string, keep: readonly string[] = []): string {
  const hash = url.indexOf('#');
  let q = url.indexOf('?');
  if (hash !== -1 && q > hash) q = -1;
  if (q === -1) return hash === -1 ? url : url.slice(0, hash);
  const query = url.slice(q + 1, hash === -1 ? url.length : hash);
  if (query === '') return url.slice(0, q);
  const parts = query.split(/[&;]/).map((part) => {
    if (keep.length === 0) return REDACTED;
    const eq = part.indexOf('=');
    const name = decodeName(eq === -1 ? part : part.slice(0, eq));
    return keep.includes(name) ? part : REDACTED;
  });
  return `${url.slice(0, q)}?${parts.join('&')}`;
}

/**
 * pino redaction paths for headers that can carry a key, wherever a logged object keeps
 * them: `headers`, `req.headers`, `err.config.headers`, ... Names are lower-cased as Node
 * delivers them, and also kept as given for objects built by hand.
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
