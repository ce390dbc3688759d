import type {
  AuditContext,
  AuditEntry,
  AuditQuery,
  ChangeBatch,
  IdempotencyClaim,
  KeyPage,
  KeyPatch,
  KeyRecord,
  KeyStore,
  KeyUpdate,
  ListFilter,
  ListQuery,
  NewKeyRow,
  OwnerPage,
  OwnerPatch,
  OwnerQuery,
  OwnerRecord,
  UsageCounts,
  UsageDelta,
  UsageGranularity,
  UsageRank,
  UsageRanked,
  UsageRead,
} from '@keyward/keys/store';
import {
  ASCII_LOWER,
  ASCII_UPPER,
  type AuditWrite,
  auditFilter,
  checkOwnerDeletion,
  creationChanges,
  DuplicateKeyError,
  decodeCursor,
  decodeOwnerCursor,
  deletionWrites,
  encodeCursor,
  encodeOwnerCursor,
  IDEMPOTENCY_PENDING_MS,
  KeyNotFoundError,
  KeyStateError,
  listFilter,
  OwnerNotFoundError,
  ownerCreationChanges,
  ownerUpdateWrites,
  PepperMismatchError,
  pageLimit,
  previousSecretRecord,
  rotationWrites,
  StoreUnavailableError,
  secretReplacementWrites,
  updateWrites,
} from '@keyward/keys/store';
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { type PostgresStoreOptions, type PostgresTarget, postgresTarget } from './connection.js';
import { translatePgError } from './errors.js';
import { ChangeListener } from './listener.js';
import { CHANGES_CHANNEL, lockKey, quoteIdent } from './names.js';
import {
  OWNER_COLUMNS,
  OWNER_PLACEHOLDERS,
  OWNER_SET,
  type OwnerRow,
  ownerFromRow,
  ownerValues,
  spendSql,
} from './owners.js';
import {
  type AuditRow,
  auditFromRow,
  BULK_RECORD,
  BULK_VALUES,
  bulkRow,
  changeFromRow,
  fromRow,
  hashParam,
  INSERT_PLACEHOLDERS,
  insertValues,
  KEY_COLUMNS,
  type KeyRow,
  updateRecordJson,
  updateValues,
} from './rows.js';
import { migrate } from './schema.js';
import { PgUsage, USAGE_CHUNK } from './usage.js';

type Pg = typeof import('pg').default;

/** What a transaction body gets: a query function and the audit log. */
interface Tx {
  query<R extends QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
  log(context: AuditContext, keyId: string | null, changes: Record<string, unknown>): Promise<void>;
  /** The audit entry a domain decision names, in the change's context. */
  audited(context: AuditContext, audit: AuditWrite): Promise<void>;
  /** Many entries of one context in one statement, in the order given. */
  logMany(context: AuditContext, entries: readonly { keyId: string; changes: unknown }[]): Promise<void>;
  /** Many entries, each in its own context, in one statement, in the order given. */
  auditedMany(entries: readonly { context: AuditContext; audit: AuditWrite }[]): Promise<void>;
}

/**
 * The shared store for several instances: PostgreSQL through a `pg` pool, parameterised
 * queries only. Every change commits together with its audit entry and a
 * `NOTIFY keyward_changes` (heard by listeners only once committed). Changes take an
 * advisory lock per schema, so audit `seq` order is commit order and the change feed
 * never skips an entry committed late.
 */
export class PostgresKeyStore implements KeyStore {
  readonly #pg: Pg;
  readonly #pool: Pool;
  readonly #target: PostgresTarget;
  readonly #auditLock: string;
  readonly #t: { keys: string; audit: string; meta: string; owners: string; idempotency: string };
  readonly #watchers = new Set<() => void>();
  #listener: ChangeListener | undefined;
  readonly #usage: PgUsage;
  #closed = false;

  readonly #prepared: boolean;
  private constructor(
    pg: Pg,
    pool: Pool,
    target: PostgresTarget,
    /** The schema holding keyward's tables. */
    readonly schema: string,
    readonly location: string,
    prepared: boolean,
    /** Whether opening the store created its tables. */
    readonly created: boolean,
  ) {
    this.#prepared = prepared;
    this.#pg = pg;
    this.#pool = pool;
    this.#target = target;
    this.#auditLock = lockKey('audit', schema);
    const s = `${quoteIdent(schema)}.`;
    this.#t = {
      keys: `${s}keyward_keys`,
      audit: `${s}keyward_audit`,
      meta: `${s}keyward_meta`,
      idempotency: `${s}keyward_idempotency`,
      owners: `${s}keyward_owners`,
    };
    this.#usage = new PgUsage(`${s}keyward_usage`);
  }

  /** Connects to `url` (see `postgresTarget`) and brings the schema up to date. */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresKeyStore> {
    const target = postgresTarget(url, options);
    // Loaded on first use, so importing keyward never loads pg by itself.
    const { default: pg } = await import('pg');
    const pool = new pg.Pool(target.config);
    // An idle connection dying (server restart) must not crash the process; the pool drops it.
    pool.on('error', () => {});
    try {
      const client = await pool.connect();
      try {
        const schema = target.schema ?? (await currentSchema(client, target.location));
        const location = target.schema ? target.location : `${target.location} (schema ${schema})`;
        const created = await migrate(client, schema, {
          createSchema: target.schema !== undefined && options.mustExist !== true,
          location,
          mustExist: options.mustExist,
        });
        return new PostgresKeyStore(pg, pool, target, schema, location, target.preparedStatements, created);
      } finally {
        client.release();
      }
    } catch (error) {
      await pool.end().catch(() => {});
      throw translatePgError(error, target.location);
    }
  }

  /** `name` makes it a prepared statement, parsed and planned once per connection. */
  async #query<R extends QueryResultRow>(text: string, values?: unknown[], name?: string): Promise<R[]> {
    if (this.#closed) throw new StoreUnavailableError(`store ${this.location} is closed`);
    try {
      const named = name !== undefined && this.#prepared;
      return (await this.#pool.query<R>(named ? { name, text, values } : { text, values })).rows;
    } catch (error) {
      throw translatePgError(error, this.location);
    }
  }

  /**
   * Runs `body` in a transaction holding the audit lock; announces the change with
   * NOTIFY in the same transaction when anything was audited.
   */
  async #change<T>(body: (tx: Tx) => Promise<T>): Promise<T> {
    if (this.#closed) throw new StoreUnavailableError(`store ${this.location} is closed`);
    let client: PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw translatePgError(error, this.location);
    }
    let audited = false;
    let broken: Error | undefined;
    const tx: Tx = {
      query: async (text, values) => (await client.query(text, values)).rows,
      log: async (context, keyId, changes) => {
        audited = true;
        await client.query(
          `INSERT INTO ${this.#t.audit} (at, actor, action, key_id, changes, detail) VALUES ($1, $2, $3, $4, $5, $6)`,
          [
            context.at,
            context.actor,
            context.action,
            keyId,
            JSON.stringify(changes),
            context.detail ? JSON.stringify(context.detail) : null,
          ],
        );
      },
      audited: (context, audit) => tx.log({ ...context, action: audit.action }, audit.keyId, audit.changes),
      logMany: async (context, entries) => {
        audited = true;
        await client.query(
          `INSERT INTO ${this.#t.audit} (at, actor, action, key_id, changes)
            SELECT $1, $2, $3, r.id, r.changes
            FROM jsonb_to_recordset($4::jsonb) AS r(i int, id text, changes jsonb) ORDER BY r.i`,
          [
            context.at,
            context.actor,
            context.action,
            JSON.stringify(entries.map((e, i) => ({ i, id: e.keyId, changes: e.changes }))),
          ],
        );
      },
      auditedMany: async (entries) => {
        if (entries.length === 0) return;
        audited = true;
        const rows = entries.map(({ context: c, audit: a }, i) => ({
          i,
          at: c.at.toISOString(),
          actor: c.actor,
          action: a.action,
          key_id: a.keyId,
          changes: a.changes,
          detail: c.detail ?? null,
        }));
        await client.query(
          `INSERT INTO ${this.#t.audit} (at, actor, action, key_id, changes, detail)
            SELECT r.at, r.actor, r.action, r.key_id, r.changes, r.detail
            FROM jsonb_to_recordset($1::jsonb)
              AS r(i int, at timestamptz, actor text, action text, key_id text, changes jsonb, detail jsonb)
            ORDER BY r.i`,
          [JSON.stringify(rows)],
        );
      },
    };
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [this.#auditLock]);
      const result = await body(tx);
      if (audited) await client.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, this.schema]);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((e: Error) => {
        broken = e;
      });
      throw translatePgError(error, this.location);
    } finally {
      // A connection that cannot even roll back is destroyed, not reused.
      client.release(broken);
    }
  }

  async #locked(tx: Tx, id: string): Promise<KeyRecord> {
    const [row] = await tx.query<KeyRow>(
      `SELECT ${KEY_COLUMNS} FROM ${this.#t.keys} WHERE id = $1 FOR UPDATE`,
      [id],
    );
    if (!row) throw new KeyNotFoundError(id);
    return fromRow(row);
  }

  async #write(tx: Tx, record: KeyRecord): Promise<void> {
    await tx.query(
      `UPDATE ${this.#t.keys} SET name = $2, owner = $3, scopes = $4, metadata = $5, expires_at = $6,
        revoked_at = $7, enabled = $8, remaining_uses = $9, rate_limit = $10, rate_window = $11,
        replaced_by = $12, restrictions = $13 WHERE id = $1`,
      updateValues(record),
    );
  }

  async #insert(tx: Tx, row: NewKeyRow): Promise<void> {
    const inserted = await tx.query(
      `INSERT INTO ${this.#t.keys} (hash, ${KEY_COLUMNS}) VALUES (${INSERT_PLACEHOLDERS})
        ON CONFLICT (hash) DO NOTHING RETURNING id`,
      insertValues(row),
    );
    if (inserted.length === 0) throw new DuplicateKeyError();
  }

  async bindPepper(fingerprint: string): Promise<void> {
    // Two instances binding at once: one insert wins, both compare with what is stored.
    await this.#query(
      `INSERT INTO ${this.#t.meta} (name, value) VALUES ('pepper_fingerprint', $1) ON CONFLICT (name) DO NOTHING`,
      [fingerprint],
    );
    const [row] = await this.#query<{ value: string }>(
      `SELECT value FROM ${this.#t.meta} WHERE name = 'pepper_fingerprint'`,
    );
    if (row?.value !== fingerprint) throw new PepperMismatchError(this.location);
  }

  async readMeta(name: string): Promise<string | undefined> {
    const [row] = await this.#query<{ value: string }>(`SELECT value FROM ${this.#t.meta} WHERE name = $1`, [
      name,
    ]);
    return row?.value;
  }

  async swapMeta(name: string, expected: string | undefined, value: string): Promise<boolean> {
    // One statement each: the row lock (or the primary key) decides between concurrent callers.
    const rows =
      expected === undefined
        ? await this.#query(
            `INSERT INTO ${this.#t.meta} (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING name`,
            [name, value],
          )
        : await this.#query(
            `UPDATE ${this.#t.meta} SET value = $3 WHERE name = $1 AND value = $2 RETURNING name`,
            [name, expected, value],
          );
    return rows.length === 1;
  }

  insert(row: NewKeyRow, context: AuditContext): Promise<void> {
    return this.#change(async (tx) => {
      await this.#insert(tx, row);
      await tx.log(context, row.id, creationChanges(row));
    });
  }

  async insertMany(rows: readonly NewKeyRow[], context: AuditContext): Promise<readonly string[]> {
    // Of rows sharing a hash only the first is tried, so which one wins is well defined.
    const seen = new Set<string>();
    const unique = rows.filter((r) => {
      const hex = hashParam(r.hash).toString('hex');
      if (seen.has(hex)) return false;
      seen.add(hex);
      return true;
    });
    if (unique.length === 0) return [];
    return this.#change(async (tx) => {
      const inserted = await tx.query<{ id: string }>(
        `INSERT INTO ${this.#t.keys} (hash, ${KEY_COLUMNS})
          SELECT ${BULK_VALUES} FROM jsonb_to_recordset($1::jsonb) AS r(${BULK_RECORD}) ORDER BY r.i
          ON CONFLICT (hash) DO NOTHING RETURNING id`,
        [JSON.stringify(unique.map(bulkRow))],
      );
      const ids = new Set(inserted.map((r) => r.id));
      const added = unique.filter((r) => ids.has(r.id));
      if (added.length > 0) {
        await tx.logMany(
          context,
          added.map((r) => ({ keyId: r.id, changes: creationChanges(r) })),
        );
      }
      return added.map((r) => r.id);
    });
  }

  async get(id: string): Promise<KeyRecord | undefined> {
    const [row] = await this.#query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM ${this.#t.keys} WHERE id = $1`, [id]);
    return row && fromRow(row);
  }

  async findByHash(hash: Uint8Array): Promise<KeyRecord | undefined> {
    // The hot lookup: prepared, named after its table (statement names are per connection).
    // By the secret, else by the previous secret of a key rotated in place: one round trip.
    const [row] = await this.#query<KeyRow & { prev: Date | null }>(
      `(SELECT ${KEY_COLUMNS}, NULL::timestamptz AS prev FROM ${this.#t.keys} WHERE hash = $1)
        UNION ALL (SELECT ${KEY_COLUMNS}, prev_until FROM ${this.#t.keys} WHERE prev_hash = $1) LIMIT 1`,
      [hashParam(hash)],
      `keyward_by_hash ${this.#t.keys}`,
    );
    if (row === undefined) return undefined;
    return row.prev === null ? fromRow(row) : previousSecretRecord(fromRow(row), row.prev);
  }

  async findManyByHash(hashes: readonly Uint8Array[]): Promise<readonly (KeyRecord | undefined)[]> {
    if (hashes.length === 0) return [];
    const rows = await this.#query<KeyRow & { hash: Buffer }>(
      `SELECT hash, ${KEY_COLUMNS} FROM ${this.#t.keys} WHERE hash = ANY($1::bytea[])`,
      [hashes.map(hashParam)],
    );
    const byHash = new Map(rows.map((r) => [r.hash.toString('hex'), fromRow(r)]));
    return hashes.map((h) => byHash.get(hashParam(h).toString('hex')));
  }

  async list(query: ListQuery): Promise<KeyPage> {
    const limit = pageLimit(query.limit);
    const after = decodeCursor(query.cursor) ?? '';
    const filter = listFilter(query);
    if (filter.status !== undefined || filter.scope !== undefined || filter.q !== undefined) {
      const [sql, values] = listSql(this.#t.keys, filter, after, limit + 1);
      const rows = await this.#query<KeyRow>(sql, values);
      const items = rows.slice(0, limit).map(fromRow);
      return { items, nextCursor: rows.length > limit ? encodeCursor(items[limit - 1]!.id) : null };
    }
    const rows =
      query.owner === undefined
        ? await this.#query<KeyRow>(
            `SELECT ${KEY_COLUMNS} FROM ${this.#t.keys} WHERE id > $1 ORDER BY id LIMIT $2`,
            [after, limit + 1],
          )
        : await this.#query<KeyRow>(
            `SELECT ${KEY_COLUMNS} FROM ${this.#t.keys} WHERE owner = $1 AND id > $2 ORDER BY id LIMIT $3`,
            [query.owner, after, limit + 1],
          );
    const items = rows.slice(0, limit).map(fromRow);
    return { items, nextCursor: rows.length > limit ? encodeCursor(items[limit - 1]!.id) : null };
  }

  update(id: string, patch: KeyPatch, context: AuditContext): Promise<KeyRecord> {
    return this.#change((tx) => this.#apply(tx, id, patch, context));
  }

  /**
   * Three statements whatever the count: the keys locked in one, written from one JSON
   * document in another, audited in a third (a leak report of 1,000 keys took 6 s one
   * key at a time, round trips and all).
   */
  updateMany(changes: readonly KeyUpdate[]): Promise<readonly (KeyRecord | undefined)[]> {
    return this.#change(async (tx) => {
      const ids = [...new Set(changes.map((c) => c.id))].sort();
      const rows = await tx.query<KeyRow>(
        `SELECT ${KEY_COLUMNS} FROM ${this.#t.keys} WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`,
        [ids],
      );
      // Each change applies to the key as the changes before it in the call left it.
      const current = new Map(rows.map((r) => [r.id, fromRow(r)]));
      const changed = new Map<string, KeyRecord>();
      const audits: { context: AuditContext; audit: AuditWrite }[] = [];
      const out = changes.map((c) => {
        const before = current.get(c.id);
        if (!before) return undefined;
        const writes = updateWrites(before, c.patch, c.context.action);
        if (writes === undefined) return before;
        current.set(c.id, writes.record);
        changed.set(c.id, writes.record);
        audits.push({ context: c.context, audit: writes.audit });
        return writes.record;
      });
      if (changed.size > 0) {
        await tx.query(
          `UPDATE ${this.#t.keys} AS k SET name = r.name, owner = r.owner, scopes = r.scopes,
            metadata = r.metadata, expires_at = r.expires_at, revoked_at = r.revoked_at,
            enabled = r.enabled, remaining_uses = r.remaining_uses, rate_limit = r.rate_limit,
            rate_window = r.rate_window, replaced_by = r.replaced_by, restrictions = r.restrictions
          FROM jsonb_to_recordset($1::jsonb) AS r(id text, name text, owner text, scopes text[],
            metadata jsonb, expires_at timestamptz, revoked_at timestamptz, enabled boolean,
            remaining_uses integer, rate_limit integer, rate_window integer, replaced_by text,
            restrictions jsonb)
          WHERE k.id = r.id`,
          [JSON.stringify([...changed.values()].map(updateRecordJson))],
        );
      }
      await tx.auditedMany(audits);
      return out;
    });
  }

  /** An update inside the caller's transaction. */
  async #update(tx: Tx, before: KeyRecord, patch: KeyPatch, context: AuditContext): Promise<KeyRecord> {
    const writes = updateWrites(before, patch, context.action);
    if (writes === undefined) return before;
    await this.#write(tx, writes.record);
    await tx.audited(context, writes.audit);
    return writes.record;
  }

  rotate(
    id: string,
    successor: NewKeyRow,
    patch: KeyPatch,
    context: AuditContext,
  ): Promise<{ previous: KeyRecord; successor: KeyRecord }> {
    return this.#change(async (tx) => {
      const writes = rotationWrites(await this.#locked(tx, id), successor, patch);
      await this.#insert(tx, writes.successor);
      await this.#write(tx, writes.previous);
      for (const audit of writes.audit) await tx.audited(context, audit);
      const [row] = await tx.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM ${this.#t.keys} WHERE id = $1`, [
        successor.id,
      ]);
      return { previous: writes.previous, successor: fromRow(row!) };
    });
  }

  delete(id: string, context: AuditContext): Promise<KeyRecord> {
    return this.#change(async (tx) => {
      const before = await this.#locked(tx, id);
      await tx.query(`DELETE FROM ${this.#t.keys} WHERE id = $1`, [id]);
      await tx.audited(context, deletionWrites(before));
      return before;
    });
  }

  async consumeUse(id: string, at: Date, cost = 1): Promise<number | null> {
    // One statement, so the row lock makes it atomic: never below zero, whatever the concurrency.
    const [row] = await this.#query<{ remaining_uses: number }>(
      `UPDATE ${this.#t.keys} SET remaining_uses = remaining_uses - $3, use_count = use_count + 1,
        last_used_at = GREATEST(last_used_at, $2) WHERE id = $1 AND remaining_uses > 0
        AND remaining_uses >= $3 RETURNING remaining_uses`,
      [id, at, cost],
      `keyward_consume ${this.#t.keys}`,
    );
    return row ? row.remaining_uses : null;
  }

  async recordUsage(batch: readonly UsageDelta[]): Promise<void> {
    if (batch.length === 0) return;
    // One UPDATE ... FROM row per key: an id twice in the batch would count only once.
    const merged = new Map<string, { count: number; at: number }>();
    for (const u of batch) {
      const m = merged.get(u.id);
      const at = u.lastUsedAt.getTime();
      merged.set(u.id, m ? { count: m.count + u.count, at: Math.max(m.at, at) } : { count: u.count, at });
    }
    const ids = [...merged.keys()];
    await this.#query(
      `UPDATE ${this.#t.keys} AS k SET use_count = k.use_count + u.count,
        last_used_at = GREATEST(k.last_used_at, u.at)
        FROM unnest($1::text[], $2::bigint[], $3::timestamptz[]) AS u(id, count, at) WHERE k.id = u.id`,
      [ids, ids.map((id) => merged.get(id)!.count), ids.map((id) => new Date(merged.get(id)!.at))],
    );
  }

  async #lockedOwner(tx: Tx, name: string): Promise<OwnerRecord> {
    const [row] = await tx.query<OwnerRow>(
      `SELECT ${OWNER_COLUMNS} FROM ${this.#t.owners} WHERE name = $1 FOR UPDATE`,
      [name],
    );
    if (!row) throw new OwnerNotFoundError(name);
    return ownerFromRow(row);
  }

  recordAudit(context: AuditContext, changes: Record<string, unknown>): Promise<void> {
    return this.#change((tx) => tx.log(context, null, changes));
  }

  insertOwner(owner: OwnerRecord, context: AuditContext): Promise<void> {
    return this.#change(async (tx) => {
      const rows = await tx.query(
        `INSERT INTO ${this.#t.owners} (${OWNER_COLUMNS}) VALUES (${OWNER_PLACEHOLDERS})
          ON CONFLICT (name) DO NOTHING RETURNING name`,
        ownerValues(owner),
      );
      if (rows.length === 0) throw new KeyStateError(`an owner named ${JSON.stringify(owner.name)} exists`);
      await tx.log(context, null, ownerCreationChanges(owner));
    });
  }

  async getOwner(name: string): Promise<OwnerRecord | undefined> {
    const [row] = await this.#query<OwnerRow>(
      `SELECT ${OWNER_COLUMNS} FROM ${this.#t.owners} WHERE name = $1`,
      [name],
      `keyward_owner ${this.#t.owners}`,
    );
    return row && ownerFromRow(row);
  }

  async listOwners(query: OwnerQuery): Promise<OwnerPage> {
    const limit = pageLimit(query.limit);
    const rows = await this.#query<OwnerRow>(
      `SELECT ${OWNER_COLUMNS} FROM ${this.#t.owners} WHERE name > $1 ORDER BY name LIMIT $2`,
      [decodeOwnerCursor(query.cursor) ?? '', limit + 1],
    );
    const items = rows.slice(0, limit).map(ownerFromRow);
    return { items, nextCursor: rows.length > limit ? encodeOwnerCursor(items[limit - 1]!.name) : null };
  }

  updateOwner(name: string, patch: OwnerPatch, context: AuditContext): Promise<OwnerRecord> {
    return this.#change(async (tx) => {
      const before = await this.#lockedOwner(tx, name);
      const writes = ownerUpdateWrites(before, patch, context.at, context.action);
      if (writes === undefined) return before;
      await tx.query(`UPDATE ${this.#t.owners} SET ${OWNER_SET} WHERE name = $1`, ownerValues(writes.record));
      await tx.log(context, null, writes.changes);
      return writes.record;
    });
  }

  deleteOwner(name: string, context: AuditContext, force: boolean): Promise<OwnerRecord> {
    return this.#change(async (tx) => {
      const owner = await this.#lockedOwner(tx, name);
      const live = await tx.query<{ id: string }>(
        `SELECT id FROM ${this.#t.keys} WHERE owner = $1 AND revoked_at IS NULL ORDER BY id FOR UPDATE`,
        [name],
      );
      checkOwnerDeletion(name, live.length, force);
      for (const { id } of live) {
        await this.#apply(tx, id, { revokedAt: new Date(context.at) }, { ...context, action: 'revoke' });
      }
      await tx.query(`DELETE FROM ${this.#t.owners} WHERE name = $1`, [name]);
      await tx.log(context, null, { owner: name });
      return owner;
    });
  }

  /** Inside a transaction: an update of one key as `updateWrites` decides, audited. */
  async #apply(tx: Tx, id: string, patch: KeyPatch, context: AuditContext): Promise<KeyRecord> {
    return this.#update(tx, await this.#locked(tx, id), patch, context);
  }

  async spendCredits(name: string, cost: number, period: Date | null): Promise<number | null> {
    const [row] = await this.#query<{ credits: string }>(
      spendSql(this.#t.owners),
      [name, cost, period],
      `keyward_spend ${this.#t.owners}`,
    );
    return row ? Number(row.credits) : null;
  }

  replaceSecret(
    id: string,
    secret: { hash: Uint8Array; tag?: number; display: string },
    previousUntil: Date | null,
    context: AuditContext,
  ): Promise<KeyRecord> {
    return this.#change(async (tx) => {
      const writes = secretReplacementWrites(await this.#locked(tx, id), secret.display, previousUntil);
      try {
        await tx.query(
          `UPDATE ${this.#t.keys} SET prev_hash = CASE WHEN $2::timestamptz IS NULL THEN NULL ELSE hash END,
            prev_until = $2, hash = $3, display = $4 WHERE id = $1`,
          [id, previousUntil, hashParam(secret.hash), secret.display],
        );
      } catch (error) {
        if ((error as { code?: string }).code === '23505') throw new DuplicateKeyError();
        throw error;
      }
      await tx.audited(context, writes.audit);
      return writes.record;
    });
  }

  disableStale(cutoff: Date, context: AuditContext): Promise<readonly KeyRecord[]> {
    return this.#change(async (tx) => {
      const ids = await tx.query<{ id: string }>(
        `SELECT id FROM ${this.#t.keys} WHERE enabled AND revoked_at IS NULL
          AND coalesce(last_used_at, created_at) < $1 ORDER BY id FOR UPDATE`,
        [cutoff],
      );
      const disabled: KeyRecord[] = [];
      for (const { id } of ids) disabled.push(await this.#apply(tx, id, { enabled: false }, context));
      return disabled;
    });
  }

  /**
   * One statement, or one transaction of several for a large flush: all rows or none, so a
   * failed flush is retried whole and counts nothing twice.
   */
  async addUsageCounts(rows: readonly UsageCounts[]): Promise<void> {
    if (rows.length === 0) return;
    if (rows.length <= USAGE_CHUNK) {
      await this.#usage.add((text, values) => this.#query(text, values), rows);
      return;
    }
    await this.#change(async (tx) => {
      for (let i = 0; i < rows.length; i += USAGE_CHUNK) {
        await this.#usage.add(tx.query, rows.slice(i, i + USAGE_CHUNK));
      }
    });
  }

  readUsageCounts(read: UsageRead): Promise<readonly UsageCounts[]> {
    return this.#usage.read((text, values) => this.#query(text, values), read);
  }

  rankUsageCounts(rank: UsageRank): Promise<readonly UsageRanked[]> {
    return this.#usage.rank((text, values) => this.#query(text, values), rank);
  }

  pruneUsageCounts(granularity: UsageGranularity, before: Date, limit: number): Promise<number> {
    return this.#usage.prune((text, values) => this.#query(text, values), granularity, before, limit);
  }

  async audit(query: AuditQuery): Promise<readonly AuditEntry[]> {
    const limit = pageLimit(query.limit);
    auditFilter(query);
    const before = query.before ?? Number.MAX_SAFE_INTEGER;
    if (query.owner !== undefined || query.since !== undefined) {
      const values: unknown[] = [before];
      const where = ['seq < $1'];
      if (query.keyId !== undefined) where.push(`key_id = $${values.push(query.keyId)}`);
      if (query.since !== undefined) where.push(`at >= $${values.push(query.since)}`);
      if (query.owner !== undefined) {
        where.push(`key_id IN (SELECT id FROM ${this.#t.keys} WHERE owner = $${values.push(query.owner)})`);
      }
      const rows = await this.#query<AuditRow>(
        `SELECT * FROM ${this.#t.audit} WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT $${values.push(limit)}`,
        values,
      );
      return rows.map(auditFromRow);
    }
    const rows =
      query.keyId === undefined
        ? await this.#query<AuditRow>(
            `SELECT * FROM ${this.#t.audit} WHERE seq < $1 ORDER BY seq DESC LIMIT $2`,
            [before, limit],
          )
        : await this.#query<AuditRow>(
            `SELECT * FROM ${this.#t.audit} WHERE key_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`,
            [query.keyId, before, limit],
          );
    return rows.map(auditFromRow);
  }

  async claimIdempotency(
    key: string,
    fingerprint: string,
    at: Date,
    ttlMs: number,
  ): Promise<IdempotencyClaim> {
    const t = this.#t.idempotency;
    const expired = new Date(at.getTime() - ttlMs);
    await this.#query(`DELETE FROM ${t} WHERE created_at <= $1`, [expired]);
    // A free key is inserted, an expired one or a dead request's claim taken over; the
    // primary key makes concurrent claims of one key take turns.
    const claimed = await this.#query(
      `INSERT INTO ${t} AS i (key, fingerprint, created_at) VALUES ($1, $2, $3)
        ON CONFLICT (key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint,
          created_at = EXCLUDED.created_at, status = NULL, body = NULL
        WHERE i.created_at <= $4 OR (i.status IS NULL AND i.created_at <= $5)
        RETURNING 1`,
      [key, fingerprint, at, expired, new Date(at.getTime() - IDEMPOTENCY_PENDING_MS)],
    );
    if (claimed.length === 1) return { state: 'claimed' };
    const [row] = await this.#query<{ fingerprint: string; status: number | null; body: string | null }>(
      `SELECT fingerprint, status, body FROM ${t} WHERE key = $1`,
      [key],
    );
    // Released by its request in between: claim again.
    if (row === undefined) return this.claimIdempotency(key, fingerprint, at, ttlMs);
    if (row.status === null) return { state: 'pending' };
    return {
      state: 'done',
      response: { fingerprint: row.fingerprint, status: row.status, body: row.body ?? '' },
    };
  }

  async finishIdempotency(key: string, response: { status: number; body: string } | null): Promise<void> {
    const t = this.#t.idempotency;
    if (response === null) await this.#query(`DELETE FROM ${t} WHERE key = $1 AND status IS NULL`, [key]);
    else {
      await this.#query(`UPDATE ${t} SET status = $2, body = $3 WHERE key = $1 AND status IS NULL`, [
        key,
        response.status,
        response.body,
      ]);
    }
  }

  async changesSince(seq: number, limit: number): Promise<ChangeBatch> {
    // One statement, one snapshot: `latest` and the changes agree.
    const rows = await this.#query<{
      latest: string;
      seq: string | null;
      action: string;
      key_id: string | null;
    }>(
      `SELECT l.latest, c.seq, c.action, c.key_id
        FROM (SELECT coalesce(max(seq), 0) AS latest FROM ${this.#t.audit}) AS l
        LEFT JOIN LATERAL (
          SELECT seq, action, key_id FROM ${this.#t.audit} WHERE seq > $1 ORDER BY seq LIMIT $2
        ) AS c ON true`,
      [seq, limit],
    );
    const latest = Number(rows[0]?.latest ?? 0);
    const changes = rows
      .filter((r) => r.seq !== null)
      .map((r) => changeFromRow(r as { seq: string; action: string; key_id: string | null }));
    return { changes, latest };
  }

  /**
   * Calls `onChange` whenever another connection commits a change (LISTEN on a dedicated
   * connection, re-established by itself), and once after each reconnection. Resolves
   * after the first connection attempt with a function that stops listening.
   */
  async watch(onChange: () => void): Promise<() => void> {
    this.#watchers.add(onChange);
    if (!this.#listener && !this.#closed) {
      this.#listener = new ChangeListener({
        Client: this.#pg.Client,
        config: this.#target.config,
        schema: this.schema,
        onChange: () => {
          for (const w of this.#watchers) w();
        },
      });
      await this.#listener.start();
    }
    return () => {
      this.#watchers.delete(onChange);
    };
  }

  /** Whether the change listener is connected (for health checks and tests). */
  get listening(): boolean {
    return this.#listener?.listening ?? false;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#listener?.stop();
    await this.#pool.end();
  }
}

async function currentSchema(client: PoolClient, location: string): Promise<string> {
  const { rows } = await client.query<{ schema: string | null }>('SELECT current_schema() AS schema');
  const schema = rows[0]?.schema;
  if (!schema) {
    throw new StoreUnavailableError(
      `no schema of the search_path exists in ${location}; name one with ?schema=NAME in the URL`,
    );
  }
  return schema;
}

/** Opens the PostgreSQL store at `url`; see {@link PostgresKeyStore.open}. */
export function openPostgresStore(url: string, options?: PostgresStoreOptions): Promise<PostgresKeyStore> {
  return PostgresKeyStore.open(url, options);
}

/** The keys query for a filter (`listFilter`'s rule), with its values. */
function listSql(table: string, filter: ListFilter, after: string, limit: number): [string, unknown[]] {
  const values: unknown[] = [after];
  const where = ['id > $1'];
  if (filter.owner !== undefined) where.push(`owner = $${values.push(filter.owner)}`);
  if (filter.scope !== undefined) where.push(`$${values.push(filter.scope)}::text = ANY (scopes)`);
  if (filter.q !== undefined) {
    const q = values.push(filter.q);
    const id = values.push(filter.id);
    // translate() folds ASCII letters only, as listFilter does: lower() would fold more.
    const fold = (column: string) => `translate(${column}, '${ASCII_UPPER}', '${ASCII_LOWER}')`;
    where.push(
      `(id = $${id} OR strpos(${fold('name')}, $${q}) > 0 OR strpos(${fold("coalesce(owner, '')")}, $${q}) > 0)`,
    );
  }
  const live = 'revoked_at IS NULL AND enabled';
  const now = () => `$${values.push(new Date())}::timestamptz`;
  if (filter.status === 'active') where.push(`${live} AND (expires_at IS NULL OR expires_at > ${now()})`);
  else if (filter.status === 'expired') where.push(`${live} AND expires_at <= ${now()}`);
  else if (filter.status === 'revoked') where.push('revoked_at IS NOT NULL');
  else if (filter.status === 'disabled') where.push('revoked_at IS NULL AND NOT enabled');
  return [
    `SELECT ${KEY_COLUMNS} FROM ${table} WHERE ${where.join(' AND ')} ORDER BY id LIMIT $${values.push(limit)}`,
    values,
  ];
}
