/**
 * @keyward/keys/store: what a key store implements and the domain rules it applies, so
 * that every store enforces them the same way. Test a store with `@keyward/keys/testing`.
 * @module
 */

export {
  DuplicateKeyError,
  InsecureStoreFileError,
  KeyNotFoundError,
  KeyStateError,
  KeyStoreError,
  PepperMismatchError,
  StoreNotFoundError,
  StoreUnavailableError,
} from '../domain/errors.js';
export {
  ASCII_LOWER,
  ASCII_UPPER,
  asciiLower,
  auditFilter,
  IDEMPOTENCY_PENDING_MS,
  type ListFilter,
  listFilter,
  listMatches,
} from '../domain/listing.js';
export {
  checkOwnerDeletion,
  decodeOwnerCursor,
  encodeOwnerCursor,
  OwnerNotFoundError,
  ownerCreationChanges,
  ownerUpdateWrites,
  refillDue,
} from '../domain/owners.js';

export { PEPPER_FINGERPRINT } from '../domain/pepper.js';
export { filePermissionProblem } from '../domain/private-file.js';
export {
  applyPatch,
  CreationChanges,
  creationChanges,
  decodeCursor,
  encodeCursor,
  pageLimit,
  patchChanges,
} from '../domain/records.js';
export { previousSecretRecord, secretReplacementWrites } from '../domain/secrets.js';
export { type AuditWrite, deletionWrites, rotationWrites, updateWrites } from '../domain/writes.js';
export { refusedOf } from '../usage/memory.js';
export {
  DEPLOYMENT_SCOPE,
  keyScope,
  OUTCOME_COUNT,
  ownerScope,
  periodStart,
  REFUSED_OUTCOMES,
  scopePrefix,
  scopeRange,
  USAGE_OUTCOMES,
  USAGE_TIER,
  type UsageCounts,
  type UsageGranularity,
  type UsageRank,
  type UsageRanked,
  type UsageRead,
  type UsageScopeKey,
} from '../usage/model.js';
export { TagBloom, tagOf } from '../verify/key-tag.js';
export type {
  AuditAction,
  AuditContext,
  AuditEntry,
  AuditQuery,
  ChangeBatch,
  IdempotencyClaim,
  IdempotentResponse,
  KeyChange,
  KeyPage,
  KeyPatch,
  KeyRecord,
  KeyStore,
  KeyUpdate,
  ListQuery,
  NewKeyRow,
  OwnerPage,
  OwnerPatch,
  OwnerQuery,
  OwnerRecord,
  RateLimit,
  Refill,
  UsageDelta,
} from './types.js';
