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
  /**
   * The request method, upper case (`GET`). Optional: read only for keys restricted to
   * some routes; a key with route restrictions is refused where the adapter has none.
   */
  method?(): string | undefined;
  /**
   * The request path as the client sent it, without the query (`/reports/7`): the whole
   * path, not the part a mounted router sees. Optional, like {@link KeySource.method}.
   */
  path?(): string | undefined;
  /**
   * The OpenAPI operation id of the route the request reached, when the adapter knows
   * it. Optional: a key restricted to operation ids is refused where there is none.
   */
  operation?(): string | undefined;
}

/** The path of a request target or URL path: before the first `?` or `#`. */
export function pathOf(target: string): string {
  let end = target.length;
  const q = target.indexOf('?');
  if (q !== -1) end = q;
  const hash = target.indexOf('#');
  if (hash !== -1 && hash < end) end = hash;
  return end === target.length ? target : target.slice(0, end);
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
