import { KeyManager, type KeyManagerOptions, resolvePepper } from '@keyward/keys';
import type { KeyStore } from '@keyward/keys/store';
import type { PostgresStoreOptions } from '@keyward/postgres';
import { openSqliteKeyManager, SqliteKeyStore, type SqliteStoreOptions } from '@keyward/sqlite';
import { KeywardConfigError } from 'keyward';

/** The database used when neither an option nor `KEYWARD_DATABASE_URL` names one. */
export const DEFAULT_DATABASE = './keyward.db';

/** Where a store lives, parsed from a path or URL. */
export type DatabaseTarget =
  | { readonly kind: 'sqlite'; readonly path: string }
  /** `url` may hold a password: print {@link databaseLabel} instead. */
  | { readonly kind: 'postgres'; readonly url: string };

/** A database location safe to print: a PostgreSQL URL loses its user, password and parameters. */
export function databaseLabel(target: DatabaseTarget): string {
  if (target.kind === 'sqlite') return target.path;
  try {
    const url = new URL(target.url);
    return `postgres://${url.hostname || 'localhost'}${url.port ? `:${url.port}` : ''}${url.pathname}`;
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

/**
 * Parses a database location: a file path, `sqlite:PATH`, `sqlite://PATH`, `file:PATH`,
 * `sqlite::memory:`, or a `postgres://` / `postgresql://` URL (the shared store for several
 * instances). Default: `KEYWARD_DATABASE_URL`, else `./keyward.db`.
 */
export function resolveDatabase(value?: string, env: NodeJS.ProcessEnv = process.env): DatabaseTarget {
  const text = (value ?? env.KEYWARD_DATABASE_URL ?? DEFAULT_DATABASE).trim();
  if (text === '') throw new KeywardConfigError('the database location is empty');
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1]?.toLowerCase();
  if (scheme === undefined || /^[a-z]:[\\/]/i.test(text)) return { kind: 'sqlite', path: text };
  if (scheme === 'sqlite' || scheme === 'file') {
    const rest = text.slice(scheme.length + 1);
    const path = rest.startsWith('//') ? rest.slice(2) : rest;
    if (path === '') throw new KeywardConfigError(`no file in database URL ${JSON.stringify(text)}`);
    return { kind: 'sqlite', path };
  }
  if (scheme === 'postgres' || scheme === 'postgresql') return { kind: 'postgres', url: text };
  throw new KeywardConfigError(
    `unsupported database URL scheme "${scheme}:" (supported: a file path, sqlite:, file:, postgres:)`,
  );
}

export interface OpenKeyManagerOptions extends Omit<KeyManagerOptions, 'store' | 'pepper'> {
  /** A path or URL (see {@link resolveDatabase}). */
  database?: string;
  /** Overrides `KEYWARD_PEPPER` and the pepper file. */
  pepper?: string | Buffer;
  /** Read for `KEYWARD_DATABASE_URL` and `KEYWARD_PEPPER`; default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Told about a created pepper file; default: a line on stderr. */
  notice?: (message: string) => void;
  sqlite?: SqliteStoreOptions;
  postgres?: PostgresStoreOptions;
}

/** Opens the store a database location names. */
export async function openKeyStore(
  target: DatabaseTarget,
  options: SqliteStoreOptions = {},
  postgres: PostgresStoreOptions = {},
): Promise<KeyStore> {
  if (target.kind === 'postgres') {
    // Loaded only when asked for, like the SQLite addon.
    const { PostgresKeyStore } = await import('@keyward/postgres');
    return PostgresKeyStore.open(target.url, postgres);
  }
  return SqliteKeyStore.open(target.path, options);
}

/** The pepper of a PostgreSQL store: shared by many hosts, so from the option or KEYWARD_PEPPER only. */
function postgresPepper(options: OpenKeyManagerOptions) {
  const { pepper, env, notice } = options;
  if (pepper === undefined && !(env ?? process.env).KEYWARD_PEPPER) {
    throw new KeywardConfigError(
      'a PostgreSQL key store needs KEYWARD_PEPPER (the same secret on every instance; make one with: npx keyward pepper generate)',
    );
  }
  return resolvePepper({ pepper, env, notice });
}

/**
 * Opens a key manager on a database location, with the pepper from the option,
 * `KEYWARD_PEPPER` or (SQLite only) the pepper file beside the database, created on first use.
 */
export async function openKeyManager(options: OpenKeyManagerOptions = {}): Promise<KeyManager> {
  const { database, pepper: _pepper, env, notice: _notice, sqlite, postgres, ...rest } = options;
  const target = resolveDatabase(database, env);
  if (target.kind === 'sqlite') return openSqliteKeyManager(target.path, options);
  // Before the store: a pepper refused must not leave a new schema behind.
  const pepper = postgresPepper(options);
  const store = await openKeyStore(target, sqlite, postgres);
  try {
    return await KeyManager.open({ ...rest, store, pepper });
  } catch (error) {
    await store.close();
    throw error;
  }
}
