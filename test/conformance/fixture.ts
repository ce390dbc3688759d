import {
  type ApiKeyScheme,
  apiKeyCookie,
  apiKeyHeader,
  apiKeyQuery,
  type GuardOptions,
  httpBearer,
  staticKeys,
} from 'keyward';

/**
 * The contract every adapter's conformance app implements. The same suites
 * (conformance, hostile input) run unchanged against each of them. No route sets
 * `Cache-Control` except `/cached-data`: what the others carry comes from keyward.
 *
 * Routes:
 * - `GET /secure-data`: guard with header `X-API-Key`, cookie `X-API-KEY`, query `x-api-key`
 *   (alternatives, in that order) → 200 `{"message":"You have access to secure data","principal":<id>}`.
 * - `GET /cached-data`: the same guard → 200 `{"message":"cacheable"}` with the route's own
 *   `Cache-Control: private, max-age=60`.
 * - `GET /admin-data`: the same guard requiring scope `admin` → 200 `{"message":"You have access to admin data"}`.
 * - `GET /optional`: the same places with `autoError: false` → 200 `{"principal":<id>|null}`.
 * - `POST /echo`: the guard, then the JSON body is parsed and echoed as `{"received":<body>}`.
 * - `GET /stats`: public → `{"bodyReads":<n>}`, how many request bodies the app parsed.
 * - `GET /health`: public → `{"status":"ok"}`.
 * - Anything else: a 404 with a JSON body.
 */
export interface ConformanceServer {
  readonly url: string;
  close(): Promise<void>;
}

export interface ConformanceApp {
  readonly name: string;
  start(options: ConformanceOptions): Promise<ConformanceServer>;
}

export interface ConformanceOptions {
  /** Overrides the default static-key verifier. */
  verify?: GuardOptions<TestPrincipal>['verify'];
  /** The key header of every guarded route (default `X-API-Key`). */
  header?: string;
  /** The guards' `cacheControl` option (default: keyward's). */
  cacheControl?: GuardOptions<TestPrincipal>['cacheControl'];
  /** Accept `Authorization: Bearer <key>` first, before the three places (FastAPI's `HTTPBearer`). */
  bearer?: boolean;
}

/** The `Cache-Control` that `GET /cached-data` sets itself. */
export const OWN_CACHE_CONTROL = 'private, max-age=60';

export interface TestPrincipal {
  readonly id: string;
  readonly scopes: readonly string[];
}

/** Keys the default verifier accepts. */
export const KEYS = {
  good: 'kw_good_0123456789abcdefghijklmnopqrstuv',
  admin: 'kw_admin_0123456789abcdefghijklmnopqrstu',
} as const;

export function defaultVerify(): GuardOptions<TestPrincipal>['verify'] {
  return staticKeys([
    { key: KEYS.good, id: 'good', scopes: ['read'] },
    { key: KEYS.admin, id: 'admin', scopes: ['read', 'admin'] },
  ]);
}

export const schemes = (header = 'X-API-Key', bearer = false): ApiKeyScheme[] => [
  ...(bearer ? [httpBearer()] : []),
  apiKeyHeader({ name: header }),
  apiKeyCookie({ name: 'X-API-KEY' }),
  apiKeyQuery({ name: 'x-api-key' }),
];

export const optionalSchemes = (header = 'X-API-Key', bearer = false): ApiKeyScheme[] => [
  ...(bearer ? [httpBearer({ autoError: false })] : []),
  apiKeyHeader({ name: header, autoError: false }),
  apiKeyCookie({ name: 'X-API-KEY', autoError: false }),
  apiKeyQuery({ name: 'x-api-key', autoError: false }),
];
