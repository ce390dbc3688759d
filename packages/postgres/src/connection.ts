import { KeywardConfigError } from 'keyward';
import type { PoolConfig } from 'pg';
import { checkSchemaName } from './names.js';

export interface PostgresStoreOptions {
  /**
   * The schema keyward's tables live in, created when missing. Default: the URL's
   * `schema` parameter, else the first existing schema of the search_path (`public`).
   */
  schema?: string;
  /** Connections in the pool. Default 10. */
  max?: number;
  /** How long to wait for a connection before answering "unavailable". Default 5000 ms. */
  connectionTimeoutMs?: number;
  /** Longest a query may take before it is abandoned as "unavailable". Default 15000 ms. */
  queryTimeoutMs?: number;
  /**
   * Prepare the per-request statements (the hash lookup, taking a use) once per
   * connection. Default true. Set false behind a pooler that does not keep prepared
   * statements across transactions (PgBouncer in transaction mode before 1.21, RDS Proxy).
   * In a URL: `?prepared_statements=false`.
   */
  preparedStatements?: boolean;
  /**
   * Refuse to create a store: a schema without keyward's tables fails with
   * `StoreNotFoundError` and nothing is created (read-only commands, a mistyped URL).
   */
  mustExist?: boolean;
}

/** Where to connect and what to call it in messages. */
export interface PostgresTarget {
  readonly config: PoolConfig;
  /** The explicitly named schema, if any. */
  readonly schema: string | undefined;
  /** `preparedStatements`, else the URL's `prepared_statements` parameter, else true. */
  readonly preparedStatements: boolean;
  /** `postgres://host:port/db`: no user, password or parameters. */
  readonly location: string;
}

function positive(value: number | undefined, fallback: number, what: string): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1) throw new KeywardConfigError(`${what} must be a positive integer`);
  return v;
}

/**
 * Reads a `postgres://` or `postgresql://` URL (libpq parameters such as `sslmode` or
 * `options=-c search_path=...` are passed to `pg`; `schema=NAME` is keyward's own).
 * Errors never quote the URL: it may hold a password.
 */
export function postgresTarget(url: string, options: PostgresStoreOptions = {}): PostgresTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new KeywardConfigError(
      'the PostgreSQL URL cannot be parsed (expected postgres://user@host:port/db)',
    );
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new KeywardConfigError(`not a PostgreSQL URL (scheme ${parsed.protocol})`);
  }
  const fromUrl = parsed.searchParams.get('schema') ?? undefined;
  parsed.searchParams.delete('schema');
  const prepare = parsed.searchParams.get('prepared_statements');
  parsed.searchParams.delete('prepared_statements');
  if (prepare !== null && prepare !== 'true' && prepare !== 'false') {
    throw new KeywardConfigError('prepared_statements must be true or false');
  }
  const schema = options.schema ?? fromUrl;
  if (schema !== undefined) checkSchemaName(schema);
  const host = parsed.hostname || parsed.searchParams.get('host') || 'localhost';
  const location = `postgres://${host}${parsed.port ? `:${parsed.port}` : ''}${parsed.pathname}`;
  const config: PoolConfig = {
    connectionString: parsed.toString(),
    max: positive(options.max, 10, 'max'),
    connectionTimeoutMillis: positive(options.connectionTimeoutMs, 5000, 'connectionTimeoutMs'),
    query_timeout: positive(options.queryTimeoutMs, 15_000, 'queryTimeoutMs'),
    // Notices a dead peer (a restarted server, a dropped connection) on idle connections too.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    application_name: 'keyward',
  };
  const preparedStatements = options.preparedStatements ?? prepare !== 'false';
  return {
    config,
    schema,
    preparedStatements,
    location: schema ? `${location} (schema ${schema})` : location,
  };
}
