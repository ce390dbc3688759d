import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { KeyManager, type KeyManagerOptions, type Pepper, resolvePepper } from '@keyward/keys';
import { type KeyStore, PEPPER_FINGERPRINT } from '@keyward/keys/store';
import { SqliteKeyStore, type SqliteStoreOptions } from './store.js';

/** Options of {@link openSqliteKeyManager}: the manager's, plus where its pepper comes from. */
export interface OpenSqliteKeyManagerOptions extends Omit<KeyManagerOptions, 'store' | 'pepper'> {
  /** Overrides `KEYWARD_PEPPER` and the pepper file. */
  pepper?: string | Buffer;
  /** Read for `KEYWARD_PEPPER`; default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Told about a created pepper file; default: a line on stderr. */
  notice?: (message: string) => void;
  sqlite?: SqliteStoreOptions;
}

/**
 * The pepper when it can be had without the store: the option, `KEYWARD_PEPPER`, or an
 * existing pepper file. Checked before the database file is created, so a refused pepper
 * leaves no empty database behind. Otherwise undefined: whether the pepper file may be
 * created depends on the store.
 */
function pepperFirst(path: string, options: OpenSqliteKeyManagerOptions): Pepper | undefined {
  const { pepper, env, notice } = options;
  if (path === ':memory:') return resolvePepper({ pepper, env, notice });
  const databasePath = resolve(path);
  const given = pepper !== undefined || Boolean((env ?? process.env).KEYWARD_PEPPER);
  if (!given && !existsSync(`${databasePath}.pepper`)) return undefined;
  return resolvePepper({ pepper, env, notice, databasePath, createFile: false });
}

/** The pepper file of an open store, created only while the store has no pepper recorded yet. */
async function pepperOfStore(path: string, store: KeyStore, options: OpenSqliteKeyManagerOptions) {
  const { pepper, env, notice } = options;
  const recorded = (await store.readMeta?.(PEPPER_FINGERPRINT)) !== undefined;
  return resolvePepper({ pepper, env, notice, databasePath: resolve(path), createFile: !recorded });
}

/**
 * Opens a key manager on a SQLite file (created, with mode 0600, if missing). The pepper
 * comes from the option, `KEYWARD_PEPPER`, or the file `<path>.pepper` beside the database,
 * made with 256 random bits on first use and never made again once the database has one.
 *
 * @example
 * ```ts
 * const keys = await openSqliteKeyManager('./keyward.db');
 * ```
 */
export async function openSqliteKeyManager(
  path: string,
  options: OpenSqliteKeyManagerOptions = {},
): Promise<KeyManager> {
  const { pepper: _pepper, env: _env, notice: _notice, sqlite, ...rest } = options;
  // Before the store: a pepper refused must not leave a new database behind.
  const first = pepperFirst(path, options);
  const store = await SqliteKeyStore.open(path, sqlite);
  try {
    const pepper = first ?? (await pepperOfStore(path, store, options));
    return await KeyManager.open({ ...rest, store, pepper });
  } catch (error) {
    await store.close();
    throw error;
  }
}
