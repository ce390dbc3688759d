import type { Verifier } from 'keyward';
import { KeywardConfigError } from 'keyward';
import { KeyInputError, KeyNotFoundError, KeyStateError, PepperMismatchError } from './domain/errors.js';
import { type KeyFormat, keyFormat } from './domain/format.js';
import { isKeyId, newKeyId } from './domain/ids.js';
import { checkImportedKey, type ImportItem, type ImportProgress, importPatch } from './domain/import.js';
import { checkLabel, durationMs } from './domain/input.js';
import { checkDetail, type LeakResponse, leakPatch } from './domain/leak.js';
import {
  checkLifetime,
  checkOwnerName,
  creditsAt,
  isOwnerAction,
  newOwner,
  OwnerNotFoundError,
  type OwnerSettings,
  ownerPatch,
  strictestLifetime,
} from './domain/owners.js';
import { bindPepper, KeyHasher, type Pepper, resolvePepper } from './domain/pepper.js';
import { applyPatch, blankRecord, newKeyRow, recordOf } from './domain/records.js';
import { planRotation } from './domain/rotation.js';
import { type KeySettings, settingsPatch } from './domain/settings.js';
import { creditPeriod, creditsSet, thresholdsReached, usesSet } from './domain/thresholds.js';
import { checkCacheOptions, checkInterval } from './manager-options.js';
import { ChangeFeed } from './store/feed.js';
import { MemoryKeyStore } from './store/memory.js';
import type {
  AuditAction,
  AuditEntry,
  AuditQuery,
  KeyChange,
  KeyPage,
  KeyPatch,
  KeyRecord,
  KeyStore,
  KeyUpdate,
  ListQuery,
  NewKeyRow,
  OwnerPage,
  OwnerQuery,
  OwnerRecord,
} from './store/types.js';
import { UsageRecorder } from './store/usage.js';
import {
  keyScope,
  type UsageQuery,
  type UsageReport,
  type UsageSeriesSet,
  type UsageTop,
  type UsageTopQuery,
} from './usage/model.js';
import {
  checkKeyIds,
  rankOf,
  readOf,
  reportOf,
  scopeOf,
  seriesSetOf,
  topOf,
  usageRange,
} from './usage/query.js';
import { UsageAnalytics, type UsageAnalyticsOptions } from './usage/recorder.js';
import { tagOf } from './verify/key-tag.js';
import {
  type CacheOptions,
  type KeyCheck,
  type KeyPrincipal,
  Verification,
  type VerificationStats,
} from './verify/verification.js';

export interface KeyManagerOptions {
  store: KeyStore;
  /** The server-side secret for keyed hashes. Required except for a `MemoryKeyStore`. */
  pepper?: Pepper | Buffer | string;
  /** Key prefix (default `kw`). */
  prefix?: string;
  /** Who changes are attributed to in the audit log, unless a call says otherwise. Default `api`. */
  actor?: string;
  /** Look up keys that do not have our format (imported legacy keys). Default true. */
  legacyKeys?: boolean;
  /** Cache sizes and TTLs (each at least 1; TTLs at most 1 hour). */
  cache?: CacheOptions;
  /** Change-feed poll interval, at most 1 hour; 0 disables (default 250 ms). */
  pollIntervalMs?: number;
  /** Usage batch flush interval, at most 1 hour; 0 flushes only on `flush()`/`close()` (default 5000 ms). */
  flushIntervalMs?: number;
  /**
   * Usage analytics: verification outcomes counted per key, owner and deployment, flushed
   * with the usage (`flushIntervalMs`). Count them by passing `manager.analytics.observe`
   * to `createGuard({ observe })`.
   */
  analytics?: UsageAnalyticsOptions;
  /** Clock (ms since epoch), for tests. */
  now?: () => number;
  /** Background failures (feed, usage flush). Default: a process warning. */
  onError?: (error: unknown) => void;
}

/** Per-call options of administrative changes. */
export interface ChangeOptions {
  actor?: string;
}

export interface CreatedKey {
  /** The plaintext key: returned this once and never stored. */
  readonly key: string;
  readonly record: KeyRecord;
}

export interface RotatedKey extends CreatedKey {
  /** The old key, with its shortened expiry (or revocation for grace 0). */
  readonly previous: KeyRecord;
}

/** Where a leaked key was found, kept in the audit entry (`detail`): short strings, never the key. */
export type LeakDetail = Readonly<Record<string, string>>;

export interface LeakReport {
  /** The key after the report. */
  readonly record: KeyRecord;
  /** False when the same report (same `url` and `source`) was recorded before: nothing was written. */
  readonly recorded: boolean;
}

/** Audit entries a leak report looks back over for the same report. */
const LEAK_LOOKBACK = 200;
/** Audit entries a threshold scan reads back, at most, for owners' credit periods. */
const OWNER_LOOKBACK = 50_000;

export interface ImportResult {
  readonly imported: number;
  readonly duplicates: number;
}

const DEFAULT_GRACE = '24h';
/** The store setting (`keyward_meta`) holding the maximum key lifetime in ms ('' for none). */
const MAX_LIFETIME = 'max_key_lifetime';

function warn(error: unknown): void {
  const e = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  process.emitWarning(`key store background task failed (${e})`, 'KeywardWarning');
}

/**
 * Issues, stores, verifies, rotates and revokes per-client keys. Open with
 * {@link KeyManager.open} (or `openKeyManager` for a database URL); `close()` on shutdown.
 */
export class KeyManager {
  readonly format: KeyFormat;
  readonly store: KeyStore;
  readonly #hasher: KeyHasher;
  readonly #actor: string;
  readonly #now: () => number;
  readonly #usage: UsageRecorder;
  readonly #verification: Verification;
  readonly #feed: ChangeFeed;
  /**
   * Usage analytics: `observe` for `createGuard({ observe })` counts each request's outcome
   * in memory; `usage`, `usageMany` and `usageTop` read what was flushed.
   */
  readonly analytics: UsageAnalytics;
  #closed: Promise<void> | undefined;

  private constructor(options: KeyManagerOptions, hasher: KeyHasher, cache: Required<CacheOptions>) {
    this.store = options.store;
    this.format = keyFormat(options.prefix);
    this.#hasher = hasher;
    this.#actor = options.actor ?? 'api';
    this.#now = options.now ?? Date.now;
    this.#usage = new UsageRecorder(this.store);
    this.#verification = new Verification({
      store: this.store,
      format: this.format,
      hasher,
      usage: this.#usage,
      now: this.#now,
      legacyKeys: options.legacyKeys ?? true,
      cache,
    });
    const verification = this.#verification;
    this.analytics = new UsageAnalytics(
      this.store,
      this.#now,
      (id) => verification.principalOf(id),
      options.analytics,
    );
    this.#feed = new ChangeFeed(
      this.store,
      (c) => this.#apply(c),
      () => this.#verification.clear(),
      options.onError ?? warn,
    );
  }

  /** Binds the pepper to the store (failing with `PepperMismatchError`) and starts the background tasks. */
  static async open(options: KeyManagerOptions): Promise<KeyManager> {
    const cache = checkCacheOptions(options.cache);
    if (options.actor !== undefined) {
      try {
        checkLabel(options.actor, 'actor');
      } catch (error) {
        throw new KeywardConfigError((error as Error).message);
      }
    }
    const pollMs = checkInterval(options.pollIntervalMs, 250, 'pollIntervalMs');
    const flushMs = checkInterval(options.flushIntervalMs, 5000, 'flushIntervalMs');
    let pepper = options.pepper;
    if (pepper === undefined) {
      if (!(options.store instanceof MemoryKeyStore)) {
        throw new KeywardConfigError('KeyManager needs a pepper for a persistent store (see resolvePepper)');
      }
      pepper = resolvePepper();
    }
    // Text and bytes are checked for strength there; a `Pepper` came from it already.
    const resolved =
      typeof pepper === 'string' || Buffer.isBuffer(pepper) ? resolvePepper({ pepper }) : pepper;
    const hasher = new KeyHasher(resolved);
    const manager = new KeyManager(options, hasher, cache);
    try {
      await bindPepper(options.store, resolved.secret, hasher.fingerprint);
    } catch (error) {
      if (error instanceof PepperMismatchError) {
        throw new PepperMismatchError(options.store.location, resolved.source);
      }
      throw error;
    }
    await manager.#feed.start(pollMs);
    manager.#usage.start(flushMs, options.onError ?? warn);
    manager.analytics.start(flushMs, options.onError ?? warn);
    return manager;
  }

  #apply(change: KeyChange): void {
    // An owner's limits and credits live in its keys' cached snapshots: forget them all
    // (owner changes are rare; keys are read again on their next request).
    if (isOwnerAction(change.action)) this.#verification.clear();
    else if (change.action === 'create' || change.action === 'import') this.#verification.keysAdded();
    else if (change.keyId !== null) this.#verification.invalidate(change.keyId);
  }

  #context(action: AuditAction, options?: ChangeOptions) {
    const actor = options?.actor === undefined ? this.#actor : checkLabel(options.actor, 'actor');
    return { actor, at: new Date(this.#now()), action };
  }

  #row(key: string, id: string, base: KeyRecord): NewKeyRow {
    const hasher = this.#hasher;
    return newKeyRow(base, id, this.format.display(key), hasher.hash(key), tagOf(hasher.digest(key)));
  }

  /** Issues a key. The plaintext is in the result and nowhere else. */
  async create(settings: KeySettings, options?: ChangeOptions): Promise<CreatedKey> {
    const now = this.#now();
    if (settings?.name === undefined) throw new KeyInputError('a key needs a name');
    let record = applyPatch(blankRecord(now), settingsPatch(settings, now));
    const max = await this.#lifetimeFor(record.owner);
    // With a maximum lifetime, a key given no expiry lives that long.
    if (max !== null && record.expiresAt === null) record = { ...record, expiresAt: new Date(now + max) };
    checkLifetime(record, max);
    const key = this.format.generate();
    const row = this.#row(key, newKeyId(now), record);
    await this.store.insert(row, this.#context('create', options));
    this.#verification.keysAdded();
    return { key, record: recordOf(row) };
  }

  /** A key's record; rejects with `KeyNotFoundError`. */
  async get(id: string): Promise<KeyRecord> {
    const record = isKeyId(id) ? await this.store.get(id) : undefined;
    if (!record) throw new KeyNotFoundError(id);
    return record;
  }

  list(query: ListQuery = {}): Promise<KeyPage> {
    return this.store.list(query);
  }

  async #change(id: string, patch: KeyPatch, action: AuditAction, options?: ChangeOptions) {
    if (!isKeyId(id)) throw new KeyNotFoundError(id);
    const record = await this.store.update(id, patch, this.#context(action, options));
    // Effective on this process's next request; other processes follow the change feed.
    this.#verification.invalidate(id);
    return record;
  }

  /**
   * Changes name, owner, scopes, metadata, expiry, uses, rate limit or enabled. A new owner
   * must exist; an expiry beyond the maximum lifetime (the store's or the owner's) is refused.
   */
  async update(id: string, settings: Partial<KeySettings>, options?: ChangeOptions): Promise<KeyRecord> {
    const patch = settingsPatch(settings, this.#now());
    if (patch.expiresAt !== undefined || (patch.owner !== undefined && patch.owner !== null)) {
      const current = await this.get(id);
      const next = applyPatch(current, patch);
      checkLifetime(next, await this.#lifetimeFor(next.owner));
    }
    return this.#change(id, patch, 'update', options);
  }

  /**
   * The longest a key of this owner may live (ms): the stricter of the store's setting and
   * the owner's; `null` for no limit. Rejects with `OwnerNotFoundError` for an owner that
   * does not exist, when the store keeps owners.
   */
  async #lifetimeFor(owner: string | null): Promise<number | null> {
    const store = await this.maxLifetime();
    if (owner === null || this.store.getOwner === undefined) return store;
    const record = await this.store.getOwner(owner);
    if (record === undefined) throw new OwnerNotFoundError(owner);
    return strictestLifetime(store, record.maxLifetimeMs);
  }

  /** The store's maximum key lifetime (ms), `null` for none (`setMaxLifetime`). */
  async maxLifetime(): Promise<number | null> {
    const text = await this.store.readMeta?.(MAX_LIFETIME);
    return text === undefined || text === '' ? null : Number(text);
  }

  /**
   * Sets the store's maximum key lifetime (`90d`, ms, or `null` for none): keys cannot be
   * created or extended beyond it. Keys that already live longer keep their expiry.
   */
  async setMaxLifetime(value: number | string | null): Promise<number | null> {
    const ms = value === null ? null : durationMs(value, 'maxLifetime');
    if (ms === 0) throw new KeyInputError('a maximum lifetime must be longer than 0');
    const { readMeta, swapMeta } = this.store;
    if (!readMeta || !swapMeta) throw new KeyStateError('this store keeps no settings');
    // Compare-and-set until it sticks: two administrators setting it at once both end in a value one of them set.
    for (;;) {
      const current = await readMeta.call(this.store, MAX_LIFETIME);
      if (await swapMeta.call(this.store, MAX_LIFETIME, current, ms === null ? '' : String(ms))) return ms;
    }
  }

  /**
   * Disables, in one audited step (one transaction, one `disable` entry per key), every
   * enabled key not revoked and unused (or, never used, created) for `unusedFor` (`90d` or
   * ms). Usage recorded in this process is flushed first. Resolves with the keys disabled.
   */
  async disableStale(unusedFor: number | string, options?: ChangeOptions): Promise<readonly KeyRecord[]> {
    const ms = durationMs(unusedFor, 'stale');
    if (ms === 0) throw new KeyInputError('give how long keys have been unused, e.g. 90d');
    if (!this.store.disableStale) throw new KeyStateError('this store cannot disable stale keys');
    await this.#usage.flush();
    const cutoff = new Date(this.#now() - ms);
    const disabled = await this.store.disableStale(cutoff, this.#context('disable', options));
    for (const record of disabled) this.#verification.invalidate(record.id);
    return disabled;
  }

  #owners(): Required<
    Pick<KeyStore, 'insertOwner' | 'getOwner' | 'listOwners' | 'updateOwner' | 'deleteOwner'>
  > {
    const s = this.store;
    if (!s.insertOwner || !s.getOwner || !s.listOwners || !s.updateOwner || !s.deleteOwner) {
      throw new KeyStateError('this store keeps no owners');
    }
    return s as Required<KeyStore>;
  }

  /** Creates an owner, audited (`owner_create`). Rejects with `KeyStateError` when the name is taken. */
  async createOwner(settings: OwnerSettings, options?: ChangeOptions): Promise<OwnerRecord> {
    const owner = newOwner(settings, this.#now());
    await this.#owners().insertOwner(owner, this.#context('owner_create', options));
    return owner;
  }

  /** An owner, with its credits as of now (a refill due shows as done); rejects with `OwnerNotFoundError`. */
  async getOwner(name: string): Promise<OwnerRecord> {
    const owner = await this.#owners().getOwner(checkOwnerName(name));
    if (owner === undefined) throw new OwnerNotFoundError(name);
    return { ...owner, credits: creditsAt(owner, this.#now()) };
  }

  /** Owners in name order, with their credits as of now. */
  async listOwners(query: OwnerQuery = {}): Promise<OwnerPage> {
    const page = await this.#owners().listOwners(query);
    const now = this.#now();
    return { ...page, items: page.items.map((o) => ({ ...o, credits: creditsAt(o, now) })) };
  }

  /**
   * Changes an owner's rate limit, credits, refill, metadata or maximum lifetime, audited
   * (`owner_update`); effective at once here and, through the change feed, elsewhere.
   */
  async updateOwner(
    name: string,
    settings: Partial<Omit<OwnerSettings, 'name'>>,
    options?: ChangeOptions,
  ): Promise<OwnerRecord> {
    const owners = this.#owners();
    const current = await owners.getOwner(checkOwnerName(name));
    if (current === undefined) throw new OwnerNotFoundError(name);
    const patch = ownerPatch(settings, current.refill, this.#now());
    const record = await owners.updateOwner(name, patch, this.#context('owner_update', options));
    this.#verification.clear();
    return record;
  }

  /**
   * Deletes an owner, audited (`owner_delete`). Refused (`KeyStateError`) while it has keys
   * that are not revoked, unless `force`: they are then revoked in the same transaction.
   */
  async deleteOwner(name: string, options: ChangeOptions & { force?: boolean } = {}): Promise<OwnerRecord> {
    const owner = await this.#owners().deleteOwner(
      checkOwnerName(name),
      this.#context('owner_delete', options),
      options.force === true,
    );
    this.#verification.clear();
    return owner;
  }

  disable(id: string, options?: ChangeOptions): Promise<KeyRecord> {
    return this.#change(id, { enabled: false }, 'disable', options);
  }

  enable(id: string, options?: ChangeOptions): Promise<KeyRecord> {
    return this.#change(id, { enabled: true }, 'enable', options);
  }

  /** Revokes for good, effective at once. Revoking again changes nothing. */
  async revoke(id: string, options?: ChangeOptions): Promise<KeyRecord> {
    const record = await this.get(id);
    if (record.revokedAt) return record;
    return this.#change(id, { revokedAt: new Date(this.#now()) }, 'revoke', options);
  }

  /**
   * Records a leaked key and responds to it: `revoke` (effective at once, here and, through
   * the change feed, in every process), `disable`, or `notify` (audited only). One `leak`
   * audit entry holds what changed and `detail` (e.g. `{url, source}` where it was found).
   * Reporting the same leak again (same `url` and `source` in the key's recent entries)
   * writes nothing: a replayed report is harmless. Rejects with `KeyNotFoundError`.
   */
  async reportLeak(
    id: string,
    response: LeakResponse,
    detail: LeakDetail,
    options?: ChangeOptions,
  ): Promise<LeakReport> {
    const [report] = await this.reportLeaks([{ id, detail }], response, options);
    if (report === undefined) throw new KeyNotFoundError(id);
    return report;
  }

  /**
   * {@link KeyManager.reportLeak} for many keys at once, in one transaction where the
   * store offers `updateMany`. Resolves with one report per item, `undefined` for a key
   * not found. An item's `revoked: false` (from a check just made) with `revoke` saves
   * reading the key first: a key not yet revoked cannot have had this report before.
   */
  async reportLeaks(
    items: readonly { readonly id: string; readonly detail: LeakDetail; readonly revoked?: boolean }[],
    response: LeakResponse,
    options?: ChangeOptions,
  ): Promise<(LeakReport | undefined)[]> {
    const patch = leakPatch(response, this.#now());
    const context = this.#context('leak', options);
    const checked = items.map((item) => ({
      id: item.id,
      detail: checkDetail(item.detail),
      // A revocation is for good: a key seen unrevoked had no report answered with `revoke`.
      fresh: response === 'revoke' && item.revoked === false,
    }));
    // The key as it was, for the others, and the reports its audit entries hold.
    const before = new Map<string, KeyRecord | undefined>();
    const seen = new Set<string>();
    const reportKey = (id: string, d: LeakDetail) => JSON.stringify([id, d.url, d.source]);
    await Promise.all(
      [...new Set(checked.filter((c) => !c.fresh).map((c) => c.id))].map(async (id) => {
        const record = isKeyId(id) ? await this.store.get(id) : undefined;
        before.set(id, record);
        if (!record || (response === 'revoke' && !record.revokedAt)) return;
        for (const e of await this.store.audit({ keyId: id, limit: LEAK_LOOKBACK })) {
          if (e.action === 'leak' && e.detail) seen.add(reportKey(id, e.detail));
        }
      }),
    );
    const reports = new Array<LeakReport | undefined>(checked.length);
    const changes: KeyUpdate[] = [];
    const changeOf = new Map<string, number>();
    const repeats: { index: number; change: number }[] = [];
    checked.forEach((c, index) => {
      const key = reportKey(c.id, c.detail);
      const record = before.get(c.id);
      if (!c.fresh && !record) return;
      if (seen.has(key)) {
        // Reported before this call, or earlier in it.
        const change = changeOf.get(key);
        if (change === undefined) reports[index] = { record: record!, recorded: false };
        else repeats.push({ index, change });
        return;
      }
      seen.add(key);
      changeOf.set(key, changes.length);
      changes.push({ id: c.id, patch, context: { ...context, detail: c.detail } });
      repeats.push({ index, change: changes.length - 1 });
    });
    const store = this.store;
    const after = store.updateMany
      ? await store.updateMany(changes)
      : await sequentially(
          changes.map(
            (c) => () =>
              store.update(c.id, c.patch, c.context).catch((error: unknown) => {
                // Deleted since it was read: nothing left to protect.
                if (error instanceof KeyNotFoundError) return undefined;
                throw error;
              }),
          ),
        );
    for (const c of changes) this.#verification.invalidate(c.id);
    const written = new Set<number>();
    for (const { index, change } of repeats) {
      const record = after[change];
      if (!record) continue;
      // The first item of a change wrote it; a repeat in the same call wrote nothing.
      reports[index] = { record, recorded: !written.has(change) };
      written.add(change);
    }
    return reports;
  }

  /**
   * Issues a successor with the same name, owner, scopes, metadata, rate limit and
   * lifetime; the old key keeps working for `grace` (default 24h; `0` revokes it now).
   * Remaining uses move to the successor: a key with limited uses stops at once.
   */
  async rotate(id: string, options: ChangeOptions & { grace?: number | string } = {}): Promise<RotatedKey> {
    const grace = durationMs(options.grace ?? DEFAULT_GRACE, 'grace');
    const now = this.#now();
    const plan = planRotation(await this.get(id), now, grace);
    const key = this.format.generate();
    const successor = this.#row(key, newKeyId(now), plan.successor);
    const patch = plan.patch;
    const result = await this.store.rotate(id, successor, patch, this.#context('rotate', options));
    this.#verification.invalidate(id);
    this.#verification.keysAdded();
    return { key, record: result.successor, previous: result.previous };
  }

  /**
   * Rotation in place: the key keeps its id, name, owner, scopes, metadata, limits, uses,
   * expiry and usage history, and gets a new secret; the old secret keeps working for
   * `grace` (default 24h, never past the key's expiry; `0` stops it now), as the same key:
   * revoking or disabling the key stops both. Only the latest previous secret is kept.
   */
  async rotateInPlace(
    id: string,
    options: ChangeOptions & { grace?: number | string } = {},
  ): Promise<CreatedKey> {
    const grace = durationMs(options.grace ?? DEFAULT_GRACE, 'grace');
    if (!isKeyId(id)) throw new KeyNotFoundError(id);
    if (!this.store.replaceSecret) throw new KeyStateError('this store cannot rotate keys in place');
    const key = this.format.generate();
    const until = grace === 0 ? null : new Date(this.#now() + grace);
    const hasher = this.#hasher;
    const secret = {
      hash: hasher.hash(key),
      tag: tagOf(hasher.digest(key)),
      display: this.format.display(key),
    };
    const record = await this.store.replaceSecret(id, secret, until, this.#context('rotate', options));
    this.#verification.invalidate(id);
    this.#verification.keysAdded();
    return { key, record };
  }

  /** Removes a key; its audit entries stay. Prefer `revoke` to keep its history visible. */
  async delete(id: string, options?: ChangeOptions): Promise<KeyRecord> {
    if (!isKeyId(id)) throw new KeyNotFoundError(id);
    const record = await this.store.delete(id, this.#context('delete', options));
    this.#verification.invalidate(id);
    return record;
  }

  /**
   * Imports plaintext keys (stored hashed) in batches of one transaction each. Keys
   * already stored are skipped and counted. Invalid items reject (check them first with
   * `checkImportedKey` to skip them instead).
   */
  async importKeys(
    items: Iterable<ImportItem> | AsyncIterable<ImportItem>,
    options: ChangeOptions & { batchSize?: number; onProgress?: (p: ImportProgress) => void } = {},
  ): Promise<ImportResult> {
    const size = options.batchSize ?? 5000;
    if (!Number.isInteger(size) || size < 1 || size > 100_000) {
      throw new KeyInputError('batchSize must be an integer from 1 to 100000');
    }
    let processed = 0;
    let imported = 0;
    let batch: NewKeyRow[] = [];
    // One batch is written while the next is prepared (the SQLite store writes from a
    // worker thread): at most two batches in memory, written in order.
    let writing: Promise<void> = Promise.resolve();
    const write = async () => {
      const rows = batch;
      batch = [];
      await writing;
      const context = this.#context('import', options);
      writing = this.store.insertMany(rows, context).then((ids) => {
        processed += rows.length;
        imported += ids.length;
        this.#verification.keysAdded();
        options.onProgress?.({ processed, imported, duplicates: processed - imported });
      });
      // Awaited by the next write or at the end; until then a failure must not count as unhandled.
      writing.catch(() => {});
    };
    // Most items are a bare key: they share one record per millisecond (rows are copies
    // and stores copy what they keep), and the store then writes one audit text for them.
    let bareAt = Number.NaN;
    let bare = blankRecord(0);
    // The store's maximum lifetime holds for imported keys too (an owner's is not looked up
    // per item: imported owners need not exist yet).
    const max = await this.maxLifetime();
    const limited = (record: KeyRecord, now: number): KeyRecord => {
      if (max === null) return record;
      const capped = record.expiresAt === null ? { ...record, expiresAt: new Date(now + max) } : record;
      checkLifetime(capped, max);
      return capped;
    };
    const add = (item: ImportItem) => {
      const key = checkImportedKey(item?.key, this.format);
      const now = this.#now();
      let record: KeyRecord;
      if (!isBare(item)) record = limited(applyPatch(blankRecord(now), importPatch(item, now)), now);
      else if (now === bareAt) record = bare;
      else {
        record = bare = shareable(limited(applyPatch(blankRecord(now), importPatch({ key }, now)), now));
        bareAt = now;
      }
      batch.push(this.#row(key, newKeyId(now), record));
    };
    try {
      if (isIterable(items)) {
        // Not `for await`: that costs a promise and a microtask per item.
        for (const item of items) {
          add(item);
          if (batch.length >= size) await write();
        }
      } else {
        for await (const item of items) {
          add(item);
          if (batch.length >= size) await write();
        }
      }
      if (batch.length > 0) await write();
    } catch (error) {
      // Settles the batch in flight first: its failure, if any, is the one to report, and
      // otherwise the batches before the bad item are committed when this rejects.
      await writing;
      throw error;
    }
    await writing;
    return { imported, duplicates: processed - imported };
  }

  /**
   * Writes an `expiring` audit entry (detail `{expiresAt}`) for each usable key that
   * expires within `withinMs` from now and has none for that expiry yet: the notice a
   * `key.expiring` webhook is sent from, once per key and expiry (a key given a new
   * expiry gets a new notice). Reads every key, a page at a time: run it now and then
   * (`keyward serve` does, hourly, on one instance). Resolves with the notices written.
   */
  async noticeExpiring(withinMs: number, options?: ChangeOptions): Promise<number> {
    const now = this.#now();
    let written = 0;
    let cursor: string | undefined;
    do {
      const page = await this.store.list({ limit: 1000, cursor });
      for (const r of page.items) {
        const at = r.expiresAt?.getTime();
        if (at === undefined || at <= now || at > now + withinMs || r.revokedAt || !r.enabled) continue;
        const expiresAt = r.expiresAt!.toISOString();
        const entries = await this.store.audit({ keyId: r.id, limit: LEAK_LOOKBACK });
        if (entries.some((e) => e.action === 'expiring' && e.detail?.expiresAt === expiresAt)) continue;
        await this.store.update(r.id, {}, { ...this.#context('expiring', options), detail: { expiresAt } });
        written++;
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return written;
  }

  /**
   * Writes a `threshold` audit entry (detail `{threshold, remaining, total, period}`) for
   * each threshold (80 and 100 % of its uses spent) that a key with
   * limited uses has reached and has none for yet in its current period: the notice a
   * `usage.threshold` webhook is sent from, once per threshold and period. The period and
   * its total come from the audit entry that last set the key's uses, so setting new uses
   * starts a new period. Reads every key, a page at a time, and the audit entries of those
   * with limited uses; takes nothing from the request path (spends stay one atomic
   * statement). Then does the same for owners' shared credits
   * ({@link noticeOwnerThresholds}). Resolves with the notices written.
   */
  async noticeThresholds(options?: ChangeOptions): Promise<number> {
    let written = await this.noticeOwnerThresholds(options);
    let cursor: string | undefined;
    do {
      const page = await this.store.list({ limit: 1000, cursor });
      for (const r of page.items) {
        if (r.remainingUses === null || r.revokedAt) continue;
        const entries = await this.store.audit({ keyId: r.id, limit: LEAK_LOOKBACK });
        const start = entries.find((e) => usesSet(e) !== undefined);
        const total = start === undefined ? null : usesSet(start);
        if (start === undefined || typeof total !== 'number') continue;
        const period = String(start.seq);
        const noticed = new Set(
          entries
            .filter((e) => e.seq > start.seq && e.action === 'threshold' && e.detail?.period === period)
            .map((e) => e.detail?.threshold),
        );
        for (const threshold of thresholdsReached(total, r.remainingUses)) {
          if (noticed.has(String(threshold))) continue;
          const detail = {
            threshold: String(threshold),
            remaining: String(r.remainingUses),
            total: String(total),
            period,
          };
          await this.store.update(r.id, {}, { ...this.#context('threshold', options), detail });
          written++;
        }
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return written;
  }

  /**
   * Writes a `threshold` audit entry on the owner (`keyId` null, `changes.owner`, detail
   * `{threshold, remaining, total, period}`) for each threshold (80 and 100 % of its
   * credits spent) an owner with limited credits has reached and has none for yet in its
   * current period (`creditPeriod`): a refill, or credits set by create or update. Reads
   * every owner, and the audit log backwards once (at most {@link OWNER_LOOKBACK} entries)
   * until each owner's period start is found. Resolves with the notices written (0 for a
   * store that keeps no owners).
   */
  async noticeOwnerThresholds(options?: ChangeOptions): Promise<number> {
    const { listOwners, updateOwner } = this.store;
    if (!listOwners || !updateOwner) return 0;
    const now = this.#now();
    const owners: OwnerRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await listOwners.call(this.store, { limit: 1000, cursor });
      owners.push(...page.items.filter((o) => o.credits !== null));
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    if (owners.length === 0) return 0;
    // Each owner's newest entry that set its credits, and its notices newer than that.
    const setters = new Map<string, AuditEntry>();
    const notices = new Map<string, AuditEntry[]>();
    const wanted = new Set(owners.map((o) => o.name));
    let before: number | undefined;
    for (let read = 0; wanted.size > 0 && read < OWNER_LOOKBACK; read += 1000) {
      const entries = await this.store.audit({ limit: 1000, before });
      for (const e of entries) {
        const name = e.changes.owner;
        if (e.keyId !== null || typeof name !== 'string' || !wanted.has(name)) continue;
        if (e.action === 'threshold') notices.set(name, [...(notices.get(name) ?? []), e]);
        else if (creditsSet(e) !== undefined) {
          setters.set(name, e);
          wanted.delete(name);
        }
      }
      if (entries.length < 1000) break;
      before = entries[entries.length - 1]!.seq;
    }
    let written = 0;
    for (const owner of owners) {
      const current = creditPeriod(owner, setters.get(owner.name), creditsAt(owner, now), now);
      if (current === undefined) continue;
      const noticed = new Set(
        (notices.get(owner.name) ?? [])
          .filter((e) => e.detail?.period === current.period)
          .map((e) => e.detail?.threshold),
      );
      for (const threshold of thresholdsReached(current.total, current.remaining)) {
        if (noticed.has(String(threshold))) continue;
        const detail = {
          threshold: String(threshold),
          remaining: String(current.remaining),
          total: String(current.total),
          period: current.period,
        };
        const context = { ...this.#context('threshold', options), detail };
        // An owner deleted since it was listed gets no notice.
        const done = await updateOwner.call(this.store, owner.name, {}, context).then(
          () => true,
          (error: unknown) => {
            if (error instanceof OwnerNotFoundError) return false;
            throw error;
          },
        );
        if (done) written++;
      }
    }
    return written;
  }

  /**
   * The records of presented keys, in order (`undefined` for an unknown or malformed
   * one), in one store query where the store offers `findManyByHash`: for a leak report
   * of many tokens. Reads the store, not the cache, and takes no use.
   */
  async findKeys(keys: readonly string[]): Promise<(KeyRecord | undefined)[]> {
    const out = new Array<KeyRecord | undefined>(keys.length);
    const asked: number[] = [];
    keys.forEach((key, i) => {
      if (typeof key === 'string' && this.format.classify(key) !== 'malformed') asked.push(i);
    });
    const hashes = asked.map((i) => this.#hasher.hash(keys[i]!));
    const store = this.store;
    const found = store.findManyByHash
      ? await store.findManyByHash(hashes)
      : await Promise.all(hashes.map((h) => store.findByHash(h)));
    asked.forEach((index, n) => {
      out[index] = found[n];
    });
    return out;
  }

  /** The audit log, newest first. */
  audit(query: AuditQuery = {}): Promise<readonly AuditEntry[]> {
    return this.store.audit(query);
  }

  /**
   * Verifies a key and names the outcome. Takes a use and records usage like a request
   * does, unless `dryRun`. `scopes` are the scopes the caller requires.
   * It knows no request, so it does not apply the key's restrictions: a guard does, or
   * `principal.restrictions?.allows(source)` for a request of your own.
   */
  async check(
    key: string,
    options: { scopes?: readonly string[]; dryRun?: boolean } = {},
  ): Promise<KeyCheck> {
    if (typeof key !== 'string') return { outcome: 'malformed' };
    return this.#verification.check(key, options.scopes ?? [], !options.dryRun);
  }

  /**
   * A verifier for `createGuard({verify})`. It answers a usable key's principal with what a
   * request costs it (synchronously when cached), and `null` (401 Invalid API Key) for every
   * other key (a 401 whose `reason` says why, for metrics and logs only). The guard then checks scopes (403), applies rate limits (`rateLimits()`, from
   * the principal's `rateLimit`) and only then takes a use or records usage: a request
   * refused with 403 or 429 spends nothing. Its `knows(key)` lets keys verified here
   * recently through an address blocked for failures.
   */
  verifier(): Verifier<KeyPrincipal> {
    // This process verifies: have the store's membership filter ready for made-up keys.
    this.store.warm?.();
    const verification = this.#verification;
    const verify: Verifier<KeyPrincipal> = function verifyStoredKey(key) {
      return verification.verdict(key);
    };
    verify.knows = (key) => verification.knows(key);
    return verify;
  }

  /** Verification counts since this manager opened (cache hits, store lookups and their errors), for metrics. */
  stats(): VerificationStats {
    return this.#verification.stats();
  }

  /** Applies changes from other processes now, instead of at the next poll. */
  sync(): Promise<void> {
    return this.#feed.poll();
  }

  /** Writes the usage (use counts, last use, analytics) recorded in memory to the store. */
  async flush(): Promise<void> {
    const [uses, analytics] = await Promise.allSettled([this.#usage.flush(), this.analytics.flush()]);
    if (uses.status === 'rejected') throw uses.reason;
    if (analytics.status === 'rejected') throw analytics.reason;
  }

  #analyticsStore(): Required<Pick<KeyStore, 'readUsageCounts' | 'rankUsageCounts'>> {
    const { readUsageCounts, rankUsageCounts } = this.store;
    if (readUsageCounts === undefined || rankUsageCounts === undefined) {
      throw new KeywardConfigError(`store ${this.store.location} keeps no usage analytics`);
    }
    return {
      readUsageCounts: readUsageCounts.bind(this.store),
      rankUsageCounts: rankUsageCounts.bind(this.store),
    };
  }

  /**
   * One series: a key's (`{ key }`), an owner's (`{ owner }`) or the deployment's (the
   * default), counted per outcome in each minute, hour or day of `[since, until)`. What
   * was flushed (every `flushIntervalMs`, and on close) by every process using the store.
   * An owner's series holds what its keys did while they belonged to it.
   */
  async usage(query: UsageQuery = {}): Promise<UsageReport> {
    const { scope, key, isKey } = scopeOf(query);
    const range = usageRange(query, this.#now(), 86_400_000);
    const rows = await this.#analyticsStore().readUsageCounts(readOf(range, [key]));
    return reportOf(scope, isKey, range, rows);
  }

  /** Up to 1000 keys' series in one call, in columns (see `UsageSeriesSet`). */
  async usageMany(
    query: Omit<UsageQuery, 'key' | 'owner' | 'deployment'> & { keys: readonly string[] },
  ): Promise<UsageSeriesSet> {
    const keys = checkKeyIds(query?.keys);
    const range = usageRange(query, this.#now(), 30 * 86_400_000);
    const rows = await this.#analyticsStore().readUsageCounts(readOf(range, keys.map(keyScope)));
    return seriesSetOf(keys, range, rows);
  }

  /** The busiest keys or owners over a period (default: by valid requests over 7 days, 20 of them). */
  async usageTop(query: UsageTopQuery = {}): Promise<UsageTop> {
    const rank = rankOf(query, this.#now());
    return topOf(rank, await this.#analyticsStore().rankUsageCounts(rank));
  }

  /** Stops the background tasks, flushes usage and closes the store. Safe to call twice. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#feed.stop();
      this.#usage.stop();
      this.analytics.stop();
      try {
        await this.flush();
      } finally {
        await this.store.close();
      }
    })();
    return this.#closed;
  }
}

/** Runs the tasks one after another, answering their results in order. */
async function sequentially<T>(tasks: readonly (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = [];
  for (const task of tasks) out.push(await task());
  return out;
}

/** An import item with nothing but its key. */
function isBare(item: ImportItem): boolean {
  for (const field in item) if (field !== 'key') return false;
  return true;
}

/** A source that is only sync (one that is also async is read asynchronously, as before). */
function isIterable<T>(items: Iterable<T> | AsyncIterable<T>): items is Iterable<T> {
  const source = items as Partial<Iterable<T> & AsyncIterable<T>>;
  return typeof source[Symbol.asyncIterator] !== 'function' && typeof source[Symbol.iterator] === 'function';
}

/** A record several rows may share: its lists and objects frozen, so no store can change one row's through another's. */
function shareable(record: KeyRecord): KeyRecord {
  return {
    ...record,
    scopes: Object.freeze([...record.scopes]),
    metadata: Object.freeze({ ...record.metadata }),
  };
}
