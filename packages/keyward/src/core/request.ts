/**
 * The two things keyward reads from a request. Adapters implement this over their
 * framework's request without copying headers.
 */
export interface KeySource {
  /**
   * A header by lower-case name. Duplicate header lines may come joined with `,`
   * (Fetch `Headers`, Node's `req.headers`) or as an array; both count as duplicates.
   */
  header(lowerName: string): string | readonly string[] | undefined;
  /** The raw query string after `?`, without the `?`; `''` when there is none. */
  query(): string;
  /** The address of the connection's peer, for per-address limits (optional: fetch has none). */
  peer?(): string | undefined;
}

/** The query string of a request target or URL: after the first `?`, before any `#`. */
export function queryOf(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return '';
  // A `?` inside a fragment (`/p#x?k=v`) starts no query: URL parsers and routers see none.
  const hash = url.indexOf('#');
  if (hash === -1) return url.slice(q + 1);
  return hash < q ? '' : url.slice(q + 1, hash);
}
