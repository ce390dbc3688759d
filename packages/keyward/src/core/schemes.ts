import { KeywardConfigError } from './failures.js';

/** Where an API key travels. */
export type ApiKeyLocation = 'header' | 'cookie' | 'query';

/** Options shared by the three schemes (FastAPI's `APIKeyHeader`/`APIKeyCookie`/`APIKeyQuery`). */
export interface ApiKeySchemeOptions {
  /** Header, cookie or query-parameter name. Headers match case-insensitively, cookies and queries exactly. */
  name: string;
  /** OpenAPI security scheme name; defaults to `APIKeyHeader`, `APIKeyCookie` or `APIKeyQuery`. */
  schemeName?: string;
  /** OpenAPI description, emitted only when set. */
  description?: string;
  /** When false a missing key is not an error: the route runs without a principal. Default true. */
  autoError?: boolean;
  /**
   * Marks this way of sending the key as deprecated (typically the query parameter, which
   * ends up in access logs and browser history): requests it authenticates get an RFC 9745
   * `Deprecation: @<unix seconds>` response header with this date (past: deprecated since
   * then; future: deprecated from then), and keyward's request logger warns.
   */
  deprecated?: Date;
}

/** A declared place to read the key from. Immutable; create with {@link apiKeyHeader} and friends. */
export interface ApiKeyScheme {
  /**
   * `apiKey`: the whole value of a header, cookie or query parameter is the key (FastAPI's
   * `APIKeyHeader` and friends). `bearer`: the key is the credentials of an
   * `Authorization: Bearer <key>` header (FastAPI's `HTTPBearer`); `in` is then `header`.
   */
  readonly kind: 'apiKey' | 'bearer';
  readonly in: ApiKeyLocation;
  readonly name: string;
  readonly schemeName: string;
  readonly description: string | undefined;
  readonly autoError: boolean;
  /** The name as looked up: lower-cased for headers, as given otherwise. */
  readonly lookupName: string;
  /** The RFC 9745 `Deprecation` header value (`@<unix seconds>`) when the scheme is deprecated. */
  readonly deprecation?: string | undefined;
}

// RFC 9110 token characters: valid header and cookie names.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// A query name is matched after decoding, so it may hold anything but the separators.
const QUERY_NAME = /^[^&=#?\s[\]\u0000-\u001f\u007f]+$/;

const DEFAULT_SCHEME_NAME: Record<ApiKeyLocation, string> = {
  header: 'APIKeyHeader',
  cookie: 'APIKeyCookie',
  query: 'APIKeyQuery',
};

function createScheme(location: ApiKeyLocation, options: ApiKeySchemeOptions): ApiKeyScheme {
  if (options === null || typeof options !== 'object') {
    throw new KeywardConfigError(`${DEFAULT_SCHEME_NAME[location]}: options must be an object`);
  }
  const { name, schemeName = DEFAULT_SCHEME_NAME[location], description, autoError = true } = options;
  const valid = typeof name === 'string' && (location === 'query' ? QUERY_NAME : TOKEN).test(name);
  if (!valid)
    throw new KeywardConfigError(
      `${DEFAULT_SCHEME_NAME[location]}: invalid ${location} name ${JSON.stringify(name)}`,
    );
  if (typeof schemeName !== 'string' || !/^[A-Za-z0-9._-]+$/.test(schemeName)) {
    throw new KeywardConfigError(
      `invalid schemeName ${JSON.stringify(schemeName)}: use letters, digits, '.', '_' or '-'`,
    );
  }
  if (description !== undefined && typeof description !== 'string') {
    throw new KeywardConfigError('description must be a string');
  }
  if (typeof autoError !== 'boolean') throw new KeywardConfigError('autoError must be a boolean');
  const { deprecated } = options;
  if (deprecated !== undefined && !(deprecated instanceof Date && Number.isFinite(deprecated.getTime()))) {
    throw new KeywardConfigError('deprecated must be a valid Date');
  }
  return Object.freeze({
    kind: 'apiKey' as const,
    in: location,
    name,
    schemeName,
    description,
    autoError,
    lookupName: location === 'header' ? name.toLowerCase() : name,
    // Formatted once here so the request path only copies a string.
    deprecation: deprecated && `@${Math.floor(deprecated.getTime() / 1000)}`,
  });
}

/** The key travels in a request header, e.g. `X-API-Key`. */
export function apiKeyHeader(options: ApiKeySchemeOptions): ApiKeyScheme {
  return createScheme('header', options);
}

/** The key travels in a cookie, e.g. `X-API-KEY` (case-sensitive). */
export function apiKeyCookie(options: ApiKeySchemeOptions): ApiKeyScheme {
  return createScheme('cookie', options);
}

/** The key travels in a query parameter, e.g. `x-api-key` (case-sensitive). Ends up in access logs. */
export function apiKeyQuery(options: ApiKeySchemeOptions): ApiKeyScheme {
  return createScheme('query', options);
}

/** Options of {@link httpBearer} (FastAPI's `HTTPBearer`). */
export interface HttpBearerOptions {
  /** OpenAPI security scheme name; defaults to `HTTPBearer`. */
  schemeName?: string;
  /** OpenAPI `bearerFormat` hint (e.g. `opaque`), emitted only when set. */
  bearerFormat?: string;
  /** OpenAPI description, emitted only when set. */
  description?: string;
  /** When false a missing key is not an error: the route runs without a principal. Default true. */
  autoError?: boolean;
}

/** A bearer scheme as {@link httpBearer} makes it: an {@link ApiKeyScheme} of kind `bearer`. */
export interface HttpBearerScheme extends ApiKeyScheme {
  readonly kind: 'bearer';
  readonly bearerFormat: string | undefined;
}

/**
 * The key travels as `Authorization: Bearer <key>` (RFC 6750), as with FastAPI's
 * `HTTPBearer`. The auth-scheme matches case-insensitively; no header, an empty one, or
 * another auth-scheme (`Basic ...`) counts as a missing key: 401 `Not authenticated` with
 * `WWW-Authenticate: Bearer`, or the next scheme of the guard is tried. Every 401 of a
 * guard with a bearer scheme carries the `Bearer` challenge. Documented in OpenAPI as
 * `{"type": "http", "scheme": "bearer"}`.
 */
export function httpBearer(options: HttpBearerOptions = {}): HttpBearerScheme {
  if (options === null || typeof options !== 'object') {
    throw new KeywardConfigError('HTTPBearer: options must be an object');
  }
  const { bearerFormat } = options;
  if (bearerFormat !== undefined && (typeof bearerFormat !== 'string' || bearerFormat === '')) {
    throw new KeywardConfigError('bearerFormat must be a non-empty string');
  }
  const base = createScheme('header', {
    name: 'Authorization',
    schemeName: options.schemeName ?? 'HTTPBearer',
    ...(options.description === undefined ? {} : { description: options.description }),
    ...(options.autoError === undefined ? {} : { autoError: options.autoError }),
  });
  return Object.freeze({ ...base, kind: 'bearer' as const, bearerFormat });
}

/** The `bearerFormat` of a scheme, when it is a bearer scheme that has one. */
export function bearerFormatOf(scheme: ApiKeyScheme): string | undefined {
  return scheme.kind === 'bearer' ? (scheme as HttpBearerScheme).bearerFormat : undefined;
}

/** True when two schemes describe the same OpenAPI security scheme. */
export function sameScheme(a: ApiKeyScheme, b: ApiKeyScheme): boolean {
  return (
    a.kind === b.kind &&
    bearerFormatOf(a) === bearerFormatOf(b) &&
    a.in === b.in &&
    a.name === b.name &&
    a.schemeName === b.schemeName &&
    a.description === b.description
  );
}
