/**
 * @keyward/sqlite: the embedded key store for `@keyward/keys`. One SQLite file in WAL
 * mode (better-sqlite3, a peer dependency), shared safely by `serve` and the CLI.
 * @module
 */
export { type OpenSqliteKeyManagerOptions, openSqliteKeyManager } from './open.js';
export { SCHEMA_VERSION } from './schema.js';
export { SqliteKeyStore, type SqliteStoreOptions } from './store.js';
