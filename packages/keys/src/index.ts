/**
 * @keyward/keys: per-client API keys. Issue them, store them only as keyed hashes,
 * verify them (with a cache), rotate, revoke and audit them. Stores live in their own
 * packages (`@keyward/sqlite`, `@keyward/postgres`); `MemoryKeyStore` is for tests.
 * Store authors: `@keyward/keys/store` and `@keyward/keys/testing`.
 * @module
 */
// biome-ignore-all assist/source/organizeImports: exports are grouped by purpose, not sorted.

// The manager
export {
  type ChangeOptions,
  type CreatedKey,
  type ImportResult,
  KeyManager,
  type KeyManagerOptions,
  type RotatedKey,
} from './manager.js';
export type { KeySettings } from './domain/settings.js';
export {
  checkTimeZone,
  creditsAt,
  isStale,
  nextRefill,
  OwnerNotFoundError,
  type OwnerSettings,
  parseRefill,
  periodStart,
} from './domain/owners.js';
export { type KeyState, keyState } from './domain/records.js';
export type {
  AuditEntry,
  AuditAction,
  AuditQuery,
  KeyPage,
  KeyRecord,
  ListQuery,
  OwnerPage,
  OwnerQuery,
  OwnerRecord,
  RateLimit,
  Refill,
} from './store/types.js';
export type {
  CacheOptions,
  KeyCheck,
  KeyOutcome,
  KeyPrincipal,
  VerificationStats,
} from './verify/verification.js';
export { MemoryKeyStore } from './store/memory.js';

// Usage analytics
export {
  GRANULARITIES,
  KEY_OUTCOMES,
  type KeyUsageOutcome,
  USAGE_OUTCOMES,
  type UsageBucket,
  type UsageGranularity,
  type UsageGroup,
  type UsageOutcome,
  type UsageQuery,
  type UsageReport,
  type UsageScope,
  type UsageSeriesSet,
  type UsageTop,
  type UsageTopItem,
  type UsageTopQuery,
} from './usage/model.js';
export {
  ownerOf,
  UsageAnalytics,
  type UsageAnalyticsOptions,
  type UsageAnalyticsStats,
  type UsageRetention,
} from './usage/recorder.js';

// The key format and the pepper
export { KEY_FORMAT_VERSION, type KeyFormat, type KeyShape, keyFormat } from './domain/format.js';
export {
  generatePepper,
  type Pepper,
  pepperWeakness,
  type ResolvePepperOptions,
  resolvePepper,
} from './domain/pepper.js';
export { isKeyId } from './domain/ids.js';

// Errors
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
} from './domain/errors.js';

// Settings and imports given as text (CLI, configuration, JSON lines)
export {
  checkMetadata as parseMetadata,
  checkScopes as parseScopes,
  parseDuration,
  parseRateLimit,
} from './domain/input.js';
export {
  checkImportedKey,
  type ImportItem,
  importPatch,
  type ImportProgress,
  parseImportLine,
} from './domain/import.js';
