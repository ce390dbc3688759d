/**
 * Per-client keys: format, hashed store, lifecycle, verification, audit.
 * @module
 */
export {
  DuplicateKeyError,
  InsecurePepperFileError,
  InsecureStoreFileError,
  type KeyErrorCode,
  KeyInputError,
  KeyNotFoundError,
  KeyStateError,
  KeyStoreError,
  PepperMismatchError,
  StoreUnavailableError,
} from './errors.js';
export { KEY_FORMAT_VERSION, type KeyFormat, type KeyShape, keyFormat } from './format.js';
export { checkImportedKey, type ImportItem, type ImportProgress, parseImportLine } from './import.js';
export { parseDuration, parseRateLimit } from './input.js';
export {
  type ChangeOptions,
  type CreatedKey,
  type ImportResult,
  KeyManager,
  type KeyManagerOptions,
  type RotatedKey,
} from './manager.js';
export { MemoryKeyStore } from './memory-store.js';
export {
  type DatabaseTarget,
  DEFAULT_DATABASE,
  databaseLabel,
  type OpenKeyManagerOptions,
  openKeyManager,
  openKeyStore,
  resolveDatabase,
} from './open.js';
export {
  generatePepper,
  KeyHasher,
  type Pepper,
  pepperWeakness,
  type ResolvePepperOptions,
  resolvePepper,
} from './pepper.js';
export type { PostgresStoreOptions } from './postgres/connection.js';
export { openPostgresStore, PostgresKeyStore } from './postgres/store.js';
export { type KeyState, keyState } from './records.js';
export { checkRevival, moveUses } from './rotation.js';
export type { KeySettings } from './settings.js';
export { SqliteKeyStore, type SqliteStoreOptions } from './sqlite/store.js';
export type {
  AuditAction,
  AuditContext,
  AuditEntry,
  AuditQuery,
  ChangeBatch,
  KeyChange,
  KeyPage,
  KeyPatch,
  KeyRecord,
  KeyStore,
  ListQuery,
  NewKeyRow,
  RateLimit,
  UsageDelta,
} from './types.js';
export type {
  CacheOptions,
  KeyCheck,
  KeyOutcome,
  KeyPrincipal,
} from './verification.js';
