/**
 * @keyward/keys/store: what a key store implements and the domain rules it applies, so
 * that every store enforces them the same way. Test a store with `@keyward/keys/testing`.
 * @module
 */

export {
  DuplicateKeyError,
  KeyNotFoundError,
  KeyStateError,
  KeyStoreError,
  PepperMismatchError,
  StoreUnavailableError,
} from '../domain/errors.js';
export {
  applyPatch,
  CreationChanges,
  creationChanges,
  decodeCursor,
  encodeCursor,
  pageLimit,
  patchChanges,
} from '../domain/records.js';
export { moveUses } from '../domain/rotation.js';
export { TagBloom, tagOf } from '../verify/key-tag.js';
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
