import { resolve } from 'node:path';
import { KeywardConfigError } from '../core/errors.js';
import { KeyManager, type KeyManagerOptions } from './manager.js';
import { resolvePepper } from './pepper.js';
import { SqliteKeyStore, type SqliteStoreOptions } from './sqlite/store.js';
import type { KeyStore } from './types.js';

/** The database used when neither an option nor `KEYWARD_DATABASE_URL` names one. */
export const DEFAULT_DATABASE = './keyward.db';

/** Where a store lives, parsed from a path or URL. */
export type DatabaseTarget = { readonly kind: 'sqlite'; readonly path: string };

/**
 * Parses a database location: a file path, `sqlite:PATH`, `sqlite://PATH`, `file:PATH`
 * or `sqlite::memory:`. Default: `KEYWARD_DATABASE_URL`, else `./keyward.db`.
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
  throw new KeywardConfigError(
    `unsupported database URL scheme "${scheme}:" (supported: a file path, sqlite:, file:)`,
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
}

/** Opens the store a database location names. */
export async function openKeyStore(
  target: DatabaseTarget,
  options: SqliteStoreOptions = {},
): Promise<KeyStore> {
  return SqliteKeyStore.open(target.path, options);
}

/**
 * Opens a key manager on a database location, with the pepper from the option,
 * `KEYWARD_PEPPER` or the pepper file beside the database (created on first use).
 */
export async function openKeyManager(options: OpenKeyManagerOptions = {}): Promise<KeyManager> {
  const { database, pepper, env, notice, sqlite, ...rest } = options;
  const target = resolveDatabase(database, env);
  const store = await openKeyStore(target, sqlite);
  try {
    const memory = target.path === ':memory:';
    const resolved = resolvePepper({
      pepper,
      env,
      notice,
      databasePath: memory ? undefined : resolve(target.path),
    });
    return await KeyManager.open({ ...rest, store, pepper: resolved });
  } catch (error) {
    await store.close();
    throw error;
  }
}
