import type { ApiKeyScheme } from 'keyward';
import { KeywardConfigError } from 'keyward';
import { type DestinationStream, type Level, type Logger, pino } from 'pino';
import { createScrubber } from './scrub.js';

/** Headers that carry credentials in every deployment, whatever the schemes. */
const ALWAYS_REDACTED = ['cookie', 'set-cookie', 'authorization', 'proxy-authorization', 'x-api-key'];

export interface KeywardLoggerOptions {
  /**
   * The schemes in use: their names (header, cookie and query) are secret wherever they
   * appear, and query-scheme names may not appear in `keepQuery`.
   */
  schemes?: readonly ApiKeyScheme[];
  /** More header names to redact (e.g. a key header set by a proxy). */
  redactHeaders?: readonly string[];
  /** Query parameters whose values are harmless and may stay in logged URLs (see `redactUrl`). */
  keepQuery?: readonly string[];
  /** Default `info`. */
  level?: Level | 'silent';
  /** Where lines go; default stdout. */
  destination?: DestinationStream;
  /** Logger name, on every line. */
  name?: string;
}

/**
 * A pino logger that cannot print a key through the usual routes. Everything logged (the
 * object, child bindings, `%o`/`%j` arguments, the message) goes through one redaction
 * step before it is written:
 *
 * - request and response objects of every adapter (node:http, Express, Fastify, Hono's
 *   `c`, `c.req` and `c.req.raw`, fetch `Request`/`Response`) become `{method, url,
 *   headers}` summaries;
 * - the key headers of the schemes, `Cookie`, `Set-Cookie`, `Authorization`,
 *   `Proxy-Authorization` and `X-API-Key`, and the cookie and query names of the schemes,
 *   are `[REDACTED]` as properties at any depth and in any letter case, in `rawHeaders`
 *   and in `name=value` text;
 * - URLs (`url`, `href`, `path`, `uri`, `urls`, `referer`, ... and any string that looks like
 *   one) go through `redactUrl`; `query` and `cookies` objects go whole;
 * - text shaped like a key (`kw_…`, any prefix) is `[REDACTED]` in every string,
 *   messages included.
 *
 * Logging never throws: a getter that throws is logged as `[Unreadable]`. What it cannot
 * catch: a key of another shape (a legacy or static key) in a message or in a field with
 * another name; log key ids and display fragments instead.
 */
export function createLogger(options: KeywardLoggerOptions = {}): Logger {
  const schemes = options.schemes ?? [];
  const keep = [...(options.keepQuery ?? [])];
  for (const scheme of schemes) {
    if (scheme.in === 'query' && keep.includes(scheme.name)) {
      throw new KeywardConfigError(`keepQuery must not list the key parameter "${scheme.name}"`);
    }
  }
  const scrub = createScrubber({
    secretNames: [...ALWAYS_REDACTED, ...schemes.map((s) => s.name), ...(options.redactHeaders ?? [])],
    keepQuery: keep,
  });
  const safe = (value: Record<string, unknown>): Record<string, unknown> => {
    try {
      const out = scrub.value(value);
      return typeof out === 'object' && out !== null && !Array.isArray(out)
        ? (out as Record<string, unknown>)
        : { value: out };
    } catch {
      // Fails closed: a line without its fields rather than a throw or a key.
      return { logRedactionFailed: true };
    }
  };
  const logger = pino(
    {
      level: options.level ?? 'info',
      ...(options.name === undefined ? {} : { name: options.name }),
      formatters: { log: safe, bindings: safe },
      // The log object's `err` is already a plain object by now; the message is text.
      serializers: {
        err: (e: unknown) => e,
        msg: (m: unknown) => (typeof m === 'string' ? scrub.text(m) : m),
      },
      hooks: {
        // `%o`/`%j` arguments are formatted into the message before `formatters.log` runs.
        logMethod(args, method) {
          const out: unknown[] = [...args];
          const from = typeof out[0] === 'string' ? 1 : 2;
          for (let i = from; i < out.length; i++) {
            if (typeof out[i] === 'object' && out[i] !== null) out[i] = scrub.value(out[i]);
          }
          return method.apply(this, out as Parameters<typeof method>);
        },
      },
    },
    options.destination,
  );
  // pino writes a child's bindings as given (its bindings formatter applies to the root's
  // only), so they are redacted on the way in; children inherit these from the root.
  const child = logger.child;
  const setBindings = logger.setBindings;
  logger.child = function (this: Logger, bindings: Record<string, unknown>, childOptions?: object) {
    return child.call(this, safe(bindings), childOptions);
  } as Logger['child'];
  logger.setBindings = function (this: Logger, bindings: Record<string, unknown>) {
    setBindings.call(this, safe(bindings));
  };
  return logger;
}
