/**
 * @keyward/postgres: the PostgreSQL key store for `@keyward/keys` (pg, a peer
 * dependency). Several instances share it; changes reach them through LISTEN/NOTIFY.
 * @module
 */
export type { PostgresStoreOptions } from './connection.js';
export { SCHEMA_VERSION } from './schema.js';
export { openPostgresStore, PostgresKeyStore } from './store.js';
