import { DuplicateKeyError, KeyNotFoundError, KeyStateError, PepperMismatchError } from '../domain/errors.js';
import { auditFilter, IDEMPOTENCY_PENDING_MS, listFilter, listMatches } from '../domain/listing.js';
import {
  checkOwnerDeletion,
  decodeOwnerCursor,
  encodeOwnerCursor,
  isStale,
  OwnerNotFoundError,
  ownerCreationChanges,
  ownerUpdateWrites,
  refillDue,
} from '../domain/owners.js';
import { creationChanges, decodeCursor, encodeCursor, pageLimit, recordOf } from '../domain/records.js';
import { previousSecretRecord, secretReplacementWrites } from '../domain/secrets.js';
import { type AuditWrite, deletionWrites, rotationWrites, updateWrites } from '../domain/writes.js';
import { MemoryUsageCounts } from '../usage/memory.js';
import type { UsageCounts, UsageGranularity, UsageRank, UsageRanked, UsageRead } from '../usage/model.js';
import type {
  AuditContext,
  AuditEntry,
  AuditQuery,
  ChangeBatch,
  IdempotencyClaim,
  IdempotentResponse,
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
  UsageDelta,
} from './types.js';

type Row = NewKeyRow;

const hex = (hash: Uint8Array) => Buffer.from(hash).toString('hex');
// Callers get copies: nothing they do to a record reaches the store.
const copy = (row: Row): KeyRecord => structuredClone(recordOf(row));

/** At most this many idempotency records are held; the oldest go first. */
const MAX_IDEMPOTENCY_RECORDS = 100_000;

/**
 * A key store in process memory, for tests and examples. Everything is lost when the
 * process ends; use the SQLite store for anything else.
 */
export class MemoryKeyStore implements KeyStore {
  readonly location = 'memory';
  #fingerprint: string | undefined;
  readonly #rows = new Map<string, Row>();
  readonly #byHash = new Map<string, string>();
  readonly #audit: AuditEntry[] = [];
  readonly #idempotency = new Map<
    string,
    { fingerprint: string; at: number; response: IdempotentResponse | undefined }
  >();
  readonly #owners = new Map<string, OwnerRecord>();
  /** Previous secrets of keys rotated in place: hash (hex) to key id and until when. */
  readonly #previous = new Map<string, { id: string; until: number }>();
  readonly #usage = new MemoryUsageCounts();

  async bindPepper(fingerprint: string): Promise<void> {
    this.#fingerprint ??= fingerprint;
    if (this.#fingerprint !== fingerprint) throw new PepperMismatchError(this.location);
  }

  #log(context: AuditContext, keyId: string | null, changes: Record<string, unknown>): void {
    this.#audit.push(
      Object.freeze({
        seq: this.#audit.length + 1,
        at: new Date(context.at),
        actor: context.actor,
        action: context.action,
        keyId,
        changes: structuredClone(changes),
        ...(context.detail ? { detail: { ...context.detail } } : {}),
      }),
    );
  }

  #audited(context: AuditContext, audit: AuditWrite): void {
    this.#log({ ...context, action: audit.action }, audit.keyId, audit.changes);
  }

  #put(row: Row): void {
    const stored = { ...structuredClone(recordOf(row)), hash: Uint8Array.from(row.hash) };
    this.#rows.set(row.id, stored);
    this.#byHash.set(hex(row.hash), row.id);
  }

  #row(id: string): Row {
    const row = this.#rows.get(id);
    if (!row) throw new KeyNotFoundError(id);
    return row;
  }

  async insert(row: NewKeyRow, context: AuditContext): Promise<void> {
    if (this.#byHash.has(hex(row.hash))) throw new DuplicateKeyError();
    this.#put(row);
    this.#log(context, row.id, creationChanges(row));
  }

  async insertMany(rows: readonly NewKeyRow[], context: AuditContext): Promise<readonly string[]> {
    const inserted: string[] = [];
    for (const row of rows) {
      if (this.#byHash.has(hex(row.hash))) continue;
      this.#put(row);
      this.#log(context, row.id, creationChanges(row));
      inserted.push(row.id);
    }
    return inserted;
  }

  async get(id: string): Promise<KeyRecord | undefined> {
    const row = this.#rows.get(id);
    return row && copy(row);
  }

  async findManyByHash(hashes: readonly Uint8Array[]): Promise<readonly (KeyRecord | undefined)[]> {
    return Promise.all(hashes.map((h) => this.findByHash(h)));
  }

  async findByHash(hash: Uint8Array): Promise<KeyRecord | undefined> {
    const id = this.#byHash.get(hex(hash));
    if (id !== undefined) return copy(this.#rows.get(id)!);
    const previous = this.#previous.get(hex(hash));
    const row = previous && this.#rows.get(previous.id);
    return row && previousSecretRecord(copy(row), new Date(previous!.until));
  }

  async replaceSecret(
    id: string,
    secret: { hash: Uint8Array; tag?: number; display: string },
    previousUntil: Date | null,
    context: AuditContext,
  ): Promise<KeyRecord> {
    const before = this.#row(id);
    const writes = secretReplacementWrites(before, secret.display, previousUntil);
    if (this.#byHash.has(hex(secret.hash))) throw new DuplicateKeyError();
    for (const [h, p] of this.#previous) if (p.id === id) this.#previous.delete(h);
    this.#byHash.delete(hex(before.hash));
    if (previousUntil !== null) this.#previous.set(hex(before.hash), { id, until: previousUntil.getTime() });
    this.#rows.set(id, { ...writes.record, hash: Uint8Array.from(secret.hash), tag: secret.tag });
    this.#byHash.set(hex(secret.hash), id);
    this.#audited(context, writes.audit);
    return copy(this.#rows.get(id)!);
  }

  async list(query: ListQuery): Promise<KeyPage> {
    const limit = pageLimit(query.limit);
    const after = decodeCursor(query.cursor);
    const filter = listFilter(query);
    const now = Date.now();
    const ids = [...this.#rows.keys()].sort();
    const items: KeyRecord[] = [];
    let more = false;
    for (const id of ids) {
      if (after !== undefined && id <= after) continue;
      const row = this.#rows.get(id)!;
      if (!listMatches(row, filter, now)) continue;
      if (items.length === limit) {
        more = true;
        break;
      }
      items.push(copy(row));
    }
    return { items, nextCursor: more ? encodeCursor(items[items.length - 1]!.id) : null };
  }

  async updateMany(changes: readonly KeyUpdate[]): Promise<readonly (KeyRecord | undefined)[]> {
    // Checked first, so that a refused change leaves nothing written.
    for (const c of changes) {
      const row = this.#rows.get(c.id);
      if (row) updateWrites(row, c.patch, c.context.action);
    }
    const out: (KeyRecord | undefined)[] = [];
    for (const c of changes)
      out.push(this.#rows.has(c.id) ? await this.update(c.id, c.patch, c.context) : undefined);
    return out;
  }

  async update(id: string, patch: KeyPatch, context: AuditContext): Promise<KeyRecord> {
    const before = this.#row(id);
    const writes = updateWrites(before, structuredClone(patch), context.action);
    if (writes === undefined) return copy(before);
    const after = { ...writes.record, hash: before.hash, tag: before.tag };
    this.#rows.set(id, after);
    this.#audited(context, writes.audit);
    return copy(after);
  }

  async rotate(
    id: string,
    successor: NewKeyRow,
    patch: KeyPatch,
    context: AuditContext,
  ): Promise<{ previous: KeyRecord; successor: KeyRecord }> {
    const before = this.#row(id);
    const writes = rotationWrites(before, successor, structuredClone(patch));
    if (this.#byHash.has(hex(successor.hash))) throw new DuplicateKeyError();
    this.#rows.set(id, { ...writes.previous, hash: before.hash, tag: before.tag });
    this.#put(writes.successor);
    for (const audit of writes.audit) this.#audited(context, audit);
    return { previous: copy(this.#rows.get(id)!), successor: copy(this.#rows.get(successor.id)!) };
  }

  async delete(id: string, context: AuditContext): Promise<KeyRecord> {
    const row = this.#row(id);
    this.#rows.delete(id);
    this.#byHash.delete(hex(row.hash));
    for (const [h, p] of this.#previous) if (p.id === id) this.#previous.delete(h);
    this.#audited(context, deletionWrites(row));
    return copy(row);
  }

  async consumeUse(id: string, at: Date, cost = 1): Promise<number | null> {
    const row = this.#rows.get(id);
    if (!row || row.remainingUses === null || row.remainingUses < cost || row.remainingUses <= 0) return null;
    const remainingUses = row.remainingUses - cost;
    this.#rows.set(id, { ...row, remainingUses, useCount: row.useCount + 1, lastUsedAt: new Date(at) });
    return remainingUses;
  }

  async recordUsage(batch: readonly UsageDelta[]): Promise<void> {
    for (const { id, count, lastUsedAt } of batch) {
      const row = this.#rows.get(id);
      if (!row) continue;
      const last = row.lastUsedAt && row.lastUsedAt > lastUsedAt ? row.lastUsedAt : new Date(lastUsedAt);
      this.#rows.set(id, { ...row, useCount: row.useCount + count, lastUsedAt: last });
    }
  }

  async addUsageCounts(rows: readonly UsageCounts[]): Promise<void> {
    this.#usage.add(rows);
  }

  async readUsageCounts(read: UsageRead): Promise<readonly UsageCounts[]> {
    return this.#usage.read(read);
  }

  async rankUsageCounts(rank: UsageRank): Promise<readonly UsageRanked[]> {
    return this.#usage.rank(rank);
  }

  async pruneUsageCounts(granularity: UsageGranularity, before: Date, limit: number): Promise<number> {
    return this.#usage.prune(granularity, before, limit);
  }

  async audit(query: AuditQuery): Promise<readonly AuditEntry[]> {
    const limit = pageLimit(query.limit);
    auditFilter(query);
    const out: AuditEntry[] = [];
    for (let i = this.#audit.length - 1; i >= 0 && out.length < limit; i--) {
      const entry = this.#audit[i]!;
      if (query.since !== undefined && entry.at < query.since) continue;
      if (query.before !== undefined && entry.seq >= query.before) continue;
      if (query.keyId !== undefined && entry.keyId !== query.keyId) continue;
      if (query.owner !== undefined) {
        const row = entry.keyId === null ? undefined : this.#rows.get(entry.keyId);
        if (row?.owner !== query.owner) continue;
      }
      out.push(structuredClone(entry));
    }
    return out;
  }

  async changesSince(seq: number, limit: number): Promise<ChangeBatch> {
    const changes = this.#audit
      .slice(Math.max(0, seq), Math.max(0, seq) + limit)
      .map(({ seq, action, keyId }) => ({ seq, action, keyId }));
    return { changes, latest: this.#audit.length };
  }

  async claimIdempotency(
    key: string,
    fingerprint: string,
    at: Date,
    ttlMs: number,
  ): Promise<IdempotencyClaim> {
    const now = at.getTime();
    // Like the SQL stores, every claim purges what has expired. Records are kept in claim
    // order (a claim re-inserts), so expired ones sit at the front; the count is capped too.
    for (const [k, record] of this.#idempotency) {
      if (record.at > now - ttlMs && this.#idempotency.size <= MAX_IDEMPOTENCY_RECORDS) break;
      this.#idempotency.delete(k);
    }
    const held = this.#idempotency.get(key);
    const stale =
      held === undefined ||
      held.at <= now - ttlMs ||
      (held.response === undefined && held.at <= now - IDEMPOTENCY_PENDING_MS);
    if (!stale)
      return held.response ? { state: 'done', response: { ...held.response } } : { state: 'pending' };
    this.#idempotency.delete(key);
    this.#idempotency.set(key, { fingerprint, at: now, response: undefined });
    return { state: 'claimed' };
  }

  async finishIdempotency(key: string, response: { status: number; body: string } | null): Promise<void> {
    const held = this.#idempotency.get(key);
    if (held === undefined || held.response !== undefined) return;
    if (response === null) this.#idempotency.delete(key);
    else held.response = { fingerprint: held.fingerprint, status: response.status, body: response.body };
  }

  async recordAudit(context: AuditContext, changes: Record<string, unknown>): Promise<void> {
    this.#log(context, null, structuredClone(changes));
  }

  async insertOwner(owner: OwnerRecord, context: AuditContext): Promise<void> {
    if (this.#owners.has(owner.name))
      throw new KeyStateError(`an owner named ${JSON.stringify(owner.name)} exists`);
    this.#owners.set(owner.name, structuredClone(owner));
    this.#log(context, null, ownerCreationChanges(owner));
  }

  async getOwner(name: string): Promise<OwnerRecord | undefined> {
    const owner = this.#owners.get(name);
    return owner && structuredClone(owner);
  }

  async listOwners(query: OwnerQuery): Promise<OwnerPage> {
    const limit = pageLimit(query.limit);
    const after = decodeOwnerCursor(query.cursor);
    const names = [...this.#owners.keys()].filter((n) => after === undefined || n > after).sort();
    const items = names.slice(0, limit).map((n) => structuredClone(this.#owners.get(n)!));
    const more = names.length > limit;
    return { items, nextCursor: more ? encodeOwnerCursor(items[items.length - 1]!.name) : null };
  }

  async updateOwner(name: string, patch: OwnerPatch, context: AuditContext): Promise<OwnerRecord> {
    const before = this.#owners.get(name);
    if (!before) throw new OwnerNotFoundError(name);
    const writes = ownerUpdateWrites(before, structuredClone(patch), context.at, context.action);
    if (writes === undefined) return structuredClone(before);
    this.#owners.set(name, writes.record);
    this.#log(context, null, writes.changes);
    return structuredClone(writes.record);
  }

  async deleteOwner(name: string, context: AuditContext, force: boolean): Promise<OwnerRecord> {
    const owner = this.#owners.get(name);
    if (!owner) throw new OwnerNotFoundError(name);
    const live = [...this.#rows.values()].filter((r) => r.owner === name && r.revokedAt === null);
    checkOwnerDeletion(name, live.length, force);
    for (const row of live) {
      const writes = updateWrites(row, { revokedAt: new Date(context.at) }, 'revoke')!;
      this.#rows.set(row.id, { ...writes.record, hash: row.hash, tag: row.tag });
      this.#audited({ ...context, action: 'revoke' }, writes.audit);
    }
    this.#owners.delete(name);
    this.#log(context, null, { owner: name });
    return structuredClone(owner);
  }

  async spendCredits(name: string, cost: number, period: Date | null): Promise<number | null> {
    const owner = this.#owners.get(name);
    if (!owner || owner.credits === null) return null;
    const due = refillDue(owner, period);
    const balance = due ? owner.refill!.amount : owner.credits;
    // As the SQL stores do: a refill due is applied with the first spend it pays for.
    if (balance < cost) return null;
    this.#owners.set(name, {
      ...owner,
      credits: balance - cost,
      refilledAt: due ? period : owner.refilledAt,
    });
    return balance - cost;
  }

  async disableStale(cutoff: Date, context: AuditContext): Promise<readonly KeyRecord[]> {
    const disabled: KeyRecord[] = [];
    for (const id of [...this.#rows.keys()].sort()) {
      const row = this.#rows.get(id)!;
      if (!isStale(row, cutoff)) continue;
      const writes = updateWrites(row, { enabled: false }, 'disable')!;
      this.#rows.set(id, { ...writes.record, hash: row.hash, tag: row.tag });
      this.#audited(context, writes.audit);
      disabled.push(copy(this.#rows.get(id)!));
    }
    return disabled;
  }

  async close(): Promise<void> {}
}
