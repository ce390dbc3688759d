import type { ApiKeyScheme } from 'keyward';
import { KeywardConfigError } from 'keyward';
import { type DestinationStream, type Level, type Logger, pino } from 'pino';
import { headerRedactPaths, REDACTED, redactUrl } from './redact.js';

/** Headers that carry credentials in every deployment, whatever the schemes. */
const ALWAYS_REDACTED = ['cookie', 'set-cookie', 'authorization', 'proxy-authorization', 'x-api-key'];

export interface KeywardLoggerOptions {
  /**
   * The schemes in use: the names of header schemes are redacted wherever headers are
   * logged, and query-scheme names may not appear in `keepQuery`.
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
 * A pino logger that cannot print a key through the usual routes: the key headers,
 * `Cookie`, `Set-Cookie`, `Authorization` and `Proxy-Authorization` are replaced by
 * `[REDACTED]` wherever a logged object holds `headers` (up to two levels deep), and every
 * `url`/`originalUrl` field has its query redacted by {@link redactUrl}, as does any
 * `query` field. What it cannot catch: a key you put in a message string or another field
 * yourself; log key ids and display fragments instead.
 */
export function createLogger(options: KeywardLoggerOptions = {}): Logger {
  const schemes = options.schemes ?? [];
  const keep = [...(options.keepQuery ?? [])];
  for (const scheme of schemes) {
    if (scheme.in === 'query' && keep.includes(scheme.name)) {
      throw new KeywardConfigError(`keepQuery must not list the key parameter "${scheme.name}"`);
    }
  }
  const headers = [
    ...ALWAYS_REDACTED,
    ...schemes.filter((s) => s.in === 'header').map((s) => s.name),
    ...(options.redactHeaders ?? []),
  ];
  const urlPaths = ['url', '*.url', 'originalUrl', '*.originalUrl'];
  const paths = [...headerRedactPaths(headers), ...urlPaths, 'query', '*.query'];
  return pino(
    {
      level: options.level ?? 'info',
      ...(options.name === undefined ? {} : { name: options.name }),
      redact: {
        paths,
        // URLs stay useful (path and harmless parameters); everything else goes whole.
        censor: (value, path) =>
          typeof value === 'string' && /^(url|originalUrl)$/.test(path[path.length - 1] ?? '')
            ? redactUrl(value, keep)
            : REDACTED,
      },
    },
    options.destination,
  );
}
