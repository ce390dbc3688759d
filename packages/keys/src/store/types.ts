import type { Restrictions } from 'keyward';
import type { UsageCounts, UsageGranularity, UsageRank, UsageRanked, UsageRead } from '../usage/model.js';

/** A per-key rate limit: at most `limit` requests per `windowSeconds`. */
export interface RateLimit {
  readonly limit: number;
  readonly windowSeconds: number;
}

/** A stored key as everybody but the store sees it: never the key, never its hash. */
export interface KeyRecord {
  readonly id: string;
  readonly name: string;
  /** The client the key belongs to. */
  readonly owner: string | null;
  /** A short non-secret fragment, e.g. `kw_AbCd…`. */
  readonly display: string;
  readonly scopes: readonly string[];
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly createdAt: Date;
  readonly expiresAt: Date | null;
  readonly revokedAt: Date | null;
  readonly enabled: boolean;
  readonly lastUsedAt: Date | null;
  readonly useCount: number;
  /** Uses left; `null` for unlimited. */
  readonly remainingUses: number | null;
  readonly rateLimit: RateLimit | null;
  /**
   * Where the key may be used (client addresses, origins, routes), canonical; `null` for
   * anywhere. Only the kinds that restrict are present.
   */
  readonly restrictions: Restrictions | null;
  /** The key this one replaced by rotation. */
  readonly replaces: string | null;
  /** The key that replaced this one by rotation. */
  readonly replacedBy: string | null;
}

/** A new key as handed to a store: the record plus its keyed hash (HMAC-SHA256, 32 bytes). */
export interface NewKeyRow extends KeyRecord {
  readonly hash: Uint8Array;
  /**
   * 32 bits of the key's keyed digest (`tagOf`), for a store's membership filter
   * (`mayContain`). `KeyManager` always sets it; a store without a filter may ignore it.
   */
  readonly tag?: number;
}

/** Fields a lifecycle change may set. */
export interface KeyPatch {
  name?: string;
  owner?: string | null;
  scopes?: readonly string[];
  metadata?: Readonly<Record<string, unknown>>;
  expiresAt?: Date | null;
  revokedAt?: Date | null;
  enabled?: boolean;
  remainingUses?: number | null;
  rateLimit?: RateLimit | null;
  /**
   * The restriction kinds to change: each kind present replaces the key's (`[]` lifts
   * it), kinds left out stay; `null` lifts every restriction.
   */
  restrictions?: Restrictions | null;
}

export type AuditAction =
  | 'create'
  | 'update'
  | 'disable'
  | 'enable'
  | 'revoke'
  | 'rotate'
  | 'delete'
  | 'import'
  | 'owner_create'
  | 'owner_update'
  | 'owner_delete'
  /** A leak report (e.g. from GitHub secret scanning): what it changed, and `detail` where the key was found. */
  | 'leak'
  /** A notice that the key expires soon (`detail.expiresAt`), written once per expiry; changes nothing. */
  | 'expiring'
  /**
   * A notice that a key's limited uses reached a threshold (`detail`: `threshold` 80 or
   * 100, `remaining`, `total`, `period`: the seq of the entry that set the uses), written
   * once per threshold and period; changes nothing. On an owner's shared credits it has
   * `keyId: null`, `changes.owner`, and `period` `refill:<ISO start>` or `set:<seq>`.
   */
  | 'threshold'
  /** A webhook receiver registered (`changes`: `webhook` id, `url`, `events`); never its secret. */
  | 'webhook_add'
  /** A webhook receiver removed (`changes.webhook`: its id). */
  | 'webhook_remove';

/** One change of {@link KeyStore.updateMany}. */
export interface KeyUpdate {
  readonly id: string;
  readonly patch: KeyPatch;
  readonly context: AuditContext;
}

/** Who makes a change, when, and as what; the store writes the audit entry with the change. */
export interface AuditContext {
  readonly actor: string;
  readonly at: Date;
  readonly action: AuditAction;
  /**
   * Optional context the entry keeps beside `changes`, e.g. where a leaked key was found
   * (`{url, source}`). Short strings only; never a key or hash.
   */
  readonly detail?: Readonly<Record<string, string>>;
}

/** One audit log entry. `changes` holds settings and `{from, to}` pairs, never a key or hash. */
export interface AuditEntry {
  /** Strictly increasing; doubles as the change-feed position. */
  readonly seq: number;
  readonly at: Date;
  readonly actor: string;
  readonly action: AuditAction;
  readonly keyId: string | null;
  readonly changes: Readonly<Record<string, unknown>>;
  /** The context's `detail`, when the change had one. */
  readonly detail?: Readonly<Record<string, string>>;
}

export interface AuditQuery {
  keyId?: string;
  /** Only entries of keys that belong to this owner now (entries of deleted keys are not found). */
  owner?: string;
  /** Only entries at or after this time. */
  since?: Date;
  /** 1-1000, default 100. */
  limit?: number;
  /** Only entries with a smaller `seq` (paging backwards). */
  before?: number;
}

export interface ListQuery {
  owner?: string;
  /** Only keys in this state now (`keyState`). */
  status?: 'active' | 'expired' | 'revoked' | 'disabled';
  /** Only keys that hold this scope. */
  scope?: string;
  /**
   * Search: keys whose id is exactly this, or whose name or owner contains it (ASCII
   * letters case-insensitively). At most 200 characters.
   */
  q?: string;
  /** 1-1000, default 100. */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

/** How an owner's credits refill: set back to `amount` once per `period`, in `timeZone`. */
export interface Refill {
  readonly amount: number;
  readonly period: 'day' | 'month';
  /** For `month`: the day of the month it refills (1-31; past a month's end, its last day). `null` for `day`. */
  readonly day: number | null;
  /** An IANA time zone, e.g. `Europe/Berlin` (default `UTC`): days start at its midnight. */
  readonly timeZone: string;
}

/** A client keys belong to (`keys create --owner NAME`). */
export interface OwnerRecord {
  /** Unique; what `KeyRecord.owner` holds. */
  readonly name: string;
  /** One budget shared by every key of the owner (and each key's own limit still applies). */
  readonly rateLimit: RateLimit | null;
  /**
   * Credits left, shared by every key of the owner that has no credits of its own; `null`
   * for unlimited. As stored: a refill due is applied when credits are next spent (see
   * `KeyManager.getOwner` for the balance as of now).
   */
  readonly credits: number | null;
  readonly refill: Refill | null;
  /** The start of the refill period last applied (the marker that makes a refill happen once). */
  readonly refilledAt: Date | null;
  readonly metadata: Readonly<Record<string, unknown>>;
  /** Keys of this owner cannot be created or extended to live longer than this (ms). */
  readonly maxLifetimeMs: number | null;
  /**
   * Where every key of this owner may be used (canonical, as `checkRestrictions` gives
   * them; `null`: anywhere). A key of the owner must pass these and its own.
   */
  readonly restrictions: Restrictions | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** Fields an owner update may set (written as given, but for `restrictions`, merged kind by kind). */
export interface OwnerPatch {
  rateLimit?: RateLimit | null;
  credits?: number | null;
  refill?: Refill | null;
  refilledAt?: Date | null;
  metadata?: Readonly<Record<string, unknown>>;
  maxLifetimeMs?: number | null;
  /**
   * The restriction kinds to change, as for keys (`KeyPatch.restrictions`): each kind
   * present replaces the owner's (`[]` lifts it), kinds left out stay; `null` lifts all.
   */
  restrictions?: Restrictions | null;
}

export interface OwnerQuery {
  /** 1-1000, default 100. */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

export interface OwnerPage {
  /** In name order. */
  readonly items: readonly OwnerRecord[];
  readonly nextCursor: string | null;
}

export interface KeyPage {
  /** In id order, which is creation order. */
  readonly items: readonly KeyRecord[];
  readonly nextCursor: string | null;
}

/** A response stored for a POST repeated with the same `Idempotency-Key` (the admin API). */
export interface IdempotentResponse {
  /** What identifies the request (method, path, body digest): a reuse for another request is refused. */
  readonly fingerprint: string;
  readonly status: number;
  /** The response body as sent, minus any plaintext key (never stored). */
  readonly body: string;
}

/**
 * What claiming an idempotency key found: nobody had it (`claimed`: go ahead, then
 * `finishIdempotency`), a request with it still running (`pending`), or its stored response.
 */
export type IdempotencyClaim =
  | { readonly state: 'claimed' }
  | { readonly state: 'pending' }
  | { readonly state: 'done'; readonly response: IdempotentResponse };

/** One change-feed item: which key an administrative change touched. */
export interface KeyChange {
  readonly seq: number;
  readonly action: AuditAction;
  readonly keyId: string | null;
}

export interface ChangeBatch {
  /** Changes with `seq` greater than asked, oldest first, at most the limit asked. */
  readonly changes: readonly KeyChange[];
  /** The highest `seq` in the store (0 when empty). */
  readonly latest: number;
}

/** Usage accumulated in memory and added to the store in one batch. */
export interface UsageDelta {
  readonly id: string;
  readonly count: number;
  readonly lastUsedAt: Date;
}

/**
 * Where keys live. Every method is async and every change is atomic with its audit
 * entry, so SQL stores with async drivers (PostgreSQL) fit unchanged. Stores only ever
 * see keyed hashes; hashing, formats and policy live in `KeyManager`, and what a change
 * writes in `updateWrites`, `rotationWrites` and `deletionWrites` (`@keyward/keys/store`).
 * `describeStoreContract` (`@keyward/keys/testing`) is the executable specification.
 */
export interface KeyStore {
  /** Where the store is, for messages (never containing credentials). */
  readonly location: string;
  /**
   * Records the pepper fingerprint on first use. Rejects with `PepperMismatchError`
   * when another fingerprint is recorded. Used only for stores without `readMeta` and
   * `swapMeta`, with the fixed-string HMAC fingerprint (`KeyHasher.fingerprint`).
   */
  bindPepper(fingerprint: string): Promise<void>;
  /**
   * Optional: one of the store's own settings (`keyward_meta`), or `undefined` when unset.
   * With `swapMeta`, `KeyManager` records a salted scrypt fingerprint of the pepper
   * (`pepper_fingerprint`) instead of calling `bindPepper`, and `keyward serve` records
   * that it issued the first key (`demo_key`).
   */
  readMeta?(name: string): Promise<string | undefined>;
  /**
   * Optional: sets a setting to `value` if it still holds `expected` (`undefined`: unset),
   * atomically across every process using the store. Resolves with whether it did.
   */
  swapMeta?(name: string, expected: string | undefined, value: string): Promise<boolean>;
  /**
   * Optional: whether opening this store created it (its tables), rather than finding
   * one. `keyward serve` issues its first key only then.
   */
  readonly created?: boolean;
  /** Adds a key. Rejects with `DuplicateKeyError` when the hash is taken. */
  insert(row: NewKeyRow, context: AuditContext): Promise<void>;
  /**
   * Adds many keys in one transaction, one audit entry each; rows whose hash is taken
   * (in the store or earlier in the batch) are skipped. Resolves with the ids inserted.
   */
  insertMany(rows: readonly NewKeyRow[], context: AuditContext): Promise<readonly string[]>;
  get(id: string): Promise<KeyRecord | undefined>;
  /**
   * The key whose secret has this hash; for a store with `replaceSecret`, also the key
   * whose previous secret has it, as `previousSecretRecord` makes it (expiring when that
   * secret stops).
   */
  findByHash(hash: Uint8Array): Promise<KeyRecord | undefined>;
  /**
   * Optional: `findByHash` for many hashes in one query (a leak report of 1,000 tokens).
   * Resolves with one answer per hash, in order.
   */
  findManyByHash?(hashes: readonly Uint8Array[]): Promise<readonly (KeyRecord | undefined)[]>;
  /**
   * Optional, synchronous and without I/O in the common case: `false` only when no stored
   * key has this tag (`NewKeyRow.tag`), counting keys any process committed before the
   * call; `true` when one may have it or the store cannot tell. Lets a made-up key be
   * refused without computing its keyed hash or querying the store.
   */
  mayContain?(tag: number): boolean;
  /**
   * Optional: starts loading, in the background, what `mayContain` needs (it loads on
   * first use otherwise). `KeyManager.verifier()` calls it: a process that verifies wants
   * it ready before the first made-up key, one that only administers keys never loads it.
   */
  warm?(): void;
  list(query: ListQuery): Promise<KeyPage>;
  /**
   * Applies a patch and audits the fields that changed (no entry when none did).
   * Rejects with `KeyNotFoundError`, and with `KeyStateError` when `updateWrites` (run on
   * the key as read inside the transaction) refuses the patch.
   */
  update(id: string, patch: KeyPatch, context: AuditContext): Promise<KeyRecord>;
  /**
   * Optional: applies several updates as `update` does, in order, in one transaction (one
   * commit for a whole leak report). Resolves with each key after its update, `undefined`
   * for an id not found; rejects, writing nothing, when `updateWrites` refuses one.
   */
  updateMany?(changes: readonly KeyUpdate[]): Promise<readonly (KeyRecord | undefined)[]>;
  /**
   * Atomically, as `rotationWrites` decides on the old key as read in the transaction:
   * checks it is neither revoked nor already rotated (else `KeyStateError`), moves its
   * remaining uses to the successor (the successor's `remainingUses` is replaced, a limited
   * old key keeps 0), applies `patch` to it and sets its `replacedBy`, inserts `successor`
   * (whose `replaces` is `id`), audits `rotate` on the old key and `create` on the new one.
   */
  rotate(
    id: string,
    successor: NewKeyRow,
    patch: KeyPatch,
    context: AuditContext,
  ): Promise<{ previous: KeyRecord; successor: KeyRecord }>;
  /** Removes a key (its audit entries stay). Rejects with `KeyNotFoundError`. */
  delete(id: string, context: AuditContext): Promise<KeyRecord>;
  /**
   * Atomically takes `cost` uses (credits, default 1) of a key with limited uses, counting
   * one request. Resolves with the uses left after this, or `null` when fewer than `cost`
   * were left (nothing is taken) or the key is gone. Whatever the concurrency, the uses
   * never go below zero and a request is refused only when it cannot be paid.
   */
  consumeUse(id: string, at: Date, cost?: number): Promise<number | null>;
  /** Adds counts and advances last-used times; unknown ids are ignored. */
  recordUsage(batch: readonly UsageDelta[]): Promise<void>;
  /**
   * Optional (usage analytics, `KeyManager.usage`): adds each row's counts to the stored
   * row of the same granularity, start and scope (`n = n + delta`, created at zero), all
   * rows in one transaction. Several processes add to the same rows; totals stay exact.
   */
  addUsageCounts?(rows: readonly UsageCounts[]): Promise<void>;
  /** Optional (usage analytics): the rows of these scopes with `since <= start < until`, in any order. */
  readUsageCounts?(read: UsageRead): Promise<readonly UsageCounts[]>;
  /**
   * Optional (usage analytics): the scopes of a group (`k:` or `o:` prefix) with their sums
   * over `[since, until)`, busiest first by `by` (ties by scope), at most `limit`, leaving
   * out scopes whose `by` sum is zero.
   */
  rankUsageCounts?(rank: UsageRank): Promise<readonly UsageRanked[]>;
  /** Optional (usage analytics): deletes at most `limit` rows of a granularity that start before `before`; resolves with how many. */
  pruneUsageCounts?(granularity: UsageGranularity, before: Date, limit: number): Promise<number>;
  /** Audit entries, newest first. */
  audit(query: AuditQuery): Promise<readonly AuditEntry[]>;
  /**
   * Optional (the admin API's `Idempotency-Key` needs it): claims `key` for a request with
   * this fingerprint at `at`, atomically across processes. A key claimed or finished more
   * than `ttlMs` before `at`, or claimed and never finished for more than a minute (a
   * crashed request), counts as free and is taken over.
   */
  claimIdempotency?(key: string, fingerprint: string, at: Date, ttlMs: number): Promise<IdempotencyClaim>;
  /**
   * Stores the response of a claimed key (`null`: releases the claim, for a request that
   * failed in a way worth retrying).
   */
  finishIdempotency?(key: string, response: { status: number; body: string } | null): Promise<void>;
  /** The change feed: what changed after `seq`, oldest first, at most `limit` items. */
  changesSince(seq: number, limit: number): Promise<ChangeBatch>;
  /**
   * Optional: calls `onChange` soon after any process commits a change (and after a lost
   * connection is back), so the change feed polls at once instead of at its next
   * interval. Resolves with a function that stops the calls.
   */
  watch?(onChange: () => void): Promise<() => void>;
  close(): Promise<void>;

  // Owners (optional for third-party stores; the three stores of keyward keep them). Owner
  // changes are audited with `keyId: null` and the owner's name in `changes.owner`.

  /** Adds an owner. Rejects with `KeyStateError` when the name is taken. */
  insertOwner?(owner: OwnerRecord, context: AuditContext): Promise<void>;
  /**
   * Appends an audit entry about no key (`keyId: null`), for changes kept outside the key
   * and owner tables (webhook receivers). `changes` never holds a key, hash or secret.
   */
  recordAudit?(context: AuditContext, changes: Record<string, unknown>): Promise<void>;
  getOwner?(name: string): Promise<OwnerRecord | undefined>;
  listOwners?(query: OwnerQuery): Promise<OwnerPage>;
  /**
   * Applies `ownerUpdateWrites` to the owner as read in the transaction. Rejects with
   * `OwnerNotFoundError`.
   */
  updateOwner?(name: string, patch: OwnerPatch, context: AuditContext): Promise<OwnerRecord>;
  /**
   * Removes an owner. Its keys that are not revoked make it refuse (`checkOwnerDeletion`)
   * unless `force`, which revokes them in the same transaction (one `revoke` entry each).
   * Rejects with `OwnerNotFoundError`.
   */
  deleteOwner?(name: string, context: AuditContext, force: boolean): Promise<OwnerRecord>;
  /**
   * Atomically: applies a refill due (credits set to the refill amount when the stored
   * marker `refilledAt` is before `period`, the start of the current period, which then
   * becomes the marker: once per period, whatever the number of processes), then takes
   * `cost` credits if the balance covers them. Resolves with the balance after, or `null`
   * when it does not cover them (nothing taken), the owner has unlimited credits, or is gone.
   */
  spendCredits?(name: string, cost: number, period: Date | null): Promise<number | null>;
  /**
   * Optional: rotation in place. Atomically, as `secretReplacementWrites` decides on the key
   * as read in the transaction: gives the key a new secret (`hash`, `tag`, `display`), keeps
   * the current one as its previous secret until `previousUntil` (`null`: it stops now;
   * only one previous secret is kept), and audits `rotate` on the key. Rejects with
   * `KeyNotFoundError`, `KeyStateError` or `DuplicateKeyError`.
   */
  replaceSecret?(
    id: string,
    secret: { hash: Uint8Array; tag?: number; display: string },
    previousUntil: Date | null,
    context: AuditContext,
  ): Promise<KeyRecord>;
  /**
   * Disables, in one transaction, every enabled key that is not revoked and was last used
   * (or, never used, created) before `cutoff`; one `disable` entry each. Resolves with them.
   */
  disableStale?(cutoff: Date, context: AuditContext): Promise<readonly KeyRecord[]>;
}
