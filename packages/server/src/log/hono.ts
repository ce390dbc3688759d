import type { MiddlewareHandler } from 'hono';
import { authSchemeOf } from 'keyward/hono';
import type { Logger } from 'pino';
import { redactUrl } from './redact.js';

/** Fields that identify a principal in a log line. Never the key. */
export type PrincipalFields = Readonly<Record<string, string | number | boolean | null | undefined>>;

export interface RequestLoggerOptions<P> {
  /**
   * Picks the fields that identify the principal. Default: `keyId` from its `id` and
   * `keyDisplay` from its `display` fragment (the key store's records and static keys
   * have these), when they are strings.
   */
  describe?: (principal: P) => PrincipalFields | undefined;
  /** Log a warning for every request whose key came in the query string. Default true. */
  warnQueryKeys?: boolean;
}

function describeDefault(principal: unknown): PrincipalFields | undefined {
  if (typeof principal !== 'object' || principal === null) return undefined;
  const { id, display } = principal as { id?: unknown; display?: unknown };
  return {
    keyId: typeof id === 'string' || typeof id === 'number' ? id : undefined,
    keyDisplay: typeof display === 'string' ? display : undefined,
  };
}

const QUERY_WARNING =
  'API key sent in the query string, where access logs and browser history keep it; send it in a header';

/**
 * One structured line per request: `method`, `path` (without query or fragment), `status`,
 * `durationMs`, and for authenticated requests the principal's `keyId`/`keyDisplay` and
 * `keyIn` (header, cookie or query). A key that came in the query string is logged at
 * `warn` (with `deprecated: true` when its scheme is marked deprecated); server errors at
 * `error`; everything else at `info`.
 *
 * Install it before the guards so it also times and logs rejected requests:
 * `app.use(requestLogger(createLogger({ schemes })))`.
 */
export function requestLogger<P = unknown>(
  logger: Logger,
  options: RequestLoggerOptions<P> = {},
): MiddlewareHandler {
  const describe = options.describe ?? (describeDefault as (p: P) => PrincipalFields | undefined);
  const warnQueryKeys = options.warnQueryKeys ?? true;
  return async function keywardRequestLog(c, next) {
    const start = performance.now();
    try {
      await next();
    } finally {
      const scheme = authSchemeOf(c);
      const principal = c.get('principal') as P | undefined;
      const status = c.res.status;
      const line = {
        method: c.req.method,
        path: redactUrl(c.req.path),
        status,
        durationMs: Math.round((performance.now() - start) * 1000) / 1000,
        ...(principal === undefined ? {} : describe(principal)),
        ...(scheme === undefined ? {} : { keyIn: scheme.in }),
      };
      if (status >= 500) logger.error(line, 'request failed');
      else if (scheme?.in === 'query' && warnQueryKeys) {
        logger.warn(scheme.deprecation ? { ...line, deprecated: true } : line, QUERY_WARNING);
      } else logger.info(line, 'request');
    }
  };
}
