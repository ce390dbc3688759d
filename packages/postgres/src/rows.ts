import type { AuditEntry, KeyChange, KeyRecord, NewKeyRow } from '@keyward/keys/store';
import type { Restrictions } from 'keyward';

/** A `keyward_keys` row as `pg` returns it (bigint columns arrive as strings). */
export interface KeyRow {
  id: string;
  display: string;
  name: string;
  owner: string | null;
  scopes: string[];
  metadata: Record<string, unknown>;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  enabled: boolean;
  last_used_at: Date | null;
  use_count: string;
  remaining_uses: number | null;
  rate_limit: number | null;
  rate_window: number | null;
  replaces: string | null;
  replaced_by: string | null;
  restrictions: Restrictions | null;
}

/** Every column but the hash, which never leaves the store. */
export const KEY_COLUMNS =
  'id, display, name, owner, scopes, metadata, created_at, expires_at, revoked_at, enabled, last_used_at, use_count, remaining_uses, rate_limit, rate_window, replaces, replaced_by, restrictions';

export function fromRow(row: KeyRow): KeyRecord {
  return {
    id: row.id,
    name: row.name,
    owner: row.owner,
    display: row.display,
    scopes: row.scopes,
    metadata: row.metadata,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    enabled: row.enabled,
    lastUsedAt: row.last_used_at,
    useCount: Number(row.use_count),
    remainingUses: row.remaining_uses,
    rateLimit:
      row.rate_limit === null || row.rate_window === null
        ? null
        : { limit: row.rate_limit, windowSeconds: row.rate_window },
    replaces: row.replaces,
    replacedBy: row.replaced_by,
    restrictions: row.restrictions,
  };
}

export function hashParam(hash: Uint8Array): Buffer {
  return Buffer.isBuffer(hash) ? hash : Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength);
}

/**
 * Positional values for `INSERT (hash, KEY_COLUMNS)`. JSON values are passed as text:
 * `pg` would turn a JS array into a PostgreSQL array, not JSON.
 */
export function insertValues(row: NewKeyRow): unknown[] {
  return [
    hashParam(row.hash),
    row.id,
    row.display,
    row.name,
    row.owner,
    [...row.scopes],
    JSON.stringify(row.metadata),
    row.createdAt,
    row.expiresAt,
    row.revokedAt,
    row.enabled,
    row.lastUsedAt,
    row.useCount,
    row.remainingUses,
    row.rateLimit?.limit ?? null,
    row.rateLimit?.windowSeconds ?? null,
    row.replaces,
    row.replacedBy,
    restrictionsParam(row.restrictions),
  ];
}

/** Restrictions as a jsonb parameter: text, or SQL NULL (never the JSON `null`). */
function restrictionsParam(restrictions: Restrictions | null): string | null {
  return restrictions === null ? null : JSON.stringify(restrictions);
}

/** `$1, ..., $n` for {@link insertValues}. */
export const INSERT_PLACEHOLDERS = Array.from({ length: 19 }, (_, i) => `$${i + 1}`).join(', ');

/** One row of a bulk insert, read back by `jsonb_to_recordset` (hash as hex). */
export function bulkRow(row: NewKeyRow, index: number): Record<string, unknown> {
  return {
    i: index,
    hash: hashParam(row.hash).toString('hex'),
    id: row.id,
    display: row.display,
    name: row.name,
    owner: row.owner,
    scopes: row.scopes,
    metadata: row.metadata,
    created_at: row.createdAt.toISOString(),
    expires_at: row.expiresAt?.toISOString() ?? null,
    revoked_at: row.revokedAt?.toISOString() ?? null,
    enabled: row.enabled,
    last_used_at: row.lastUsedAt?.toISOString() ?? null,
    use_count: row.useCount,
    remaining_uses: row.remainingUses,
    rate_limit: row.rateLimit?.limit ?? null,
    rate_window: row.rateLimit?.windowSeconds ?? null,
    replaces: row.replaces,
    replaced_by: row.replacedBy,
    restrictions: row.restrictions,
  };
}

/** The column list `jsonb_to_recordset` reads {@link bulkRow} objects with. */
export const BULK_RECORD = `i int, hash text, id text, display text, name text, owner text, scopes jsonb,
  metadata jsonb, created_at timestamptz, expires_at timestamptz, revoked_at timestamptz, enabled boolean,
  last_used_at timestamptz, use_count bigint, remaining_uses int, rate_limit int, rate_window int,
  replaces text, replaced_by text, restrictions jsonb`;

/** The values of the same columns as {@link KEY_COLUMNS}, from a `jsonb_to_recordset` row `r`. */
export const BULK_VALUES = `decode(r.hash, 'hex'), r.id, r.display, r.name, r.owner,
  ARRAY(SELECT jsonb_array_elements_text(r.scopes)), r.metadata, r.created_at, r.expires_at, r.revoked_at,
  r.enabled, r.last_used_at, r.use_count, r.remaining_uses, r.rate_limit, r.rate_window, r.replaces,
  r.replaced_by, r.restrictions`;

/** Values for the UPDATE of the patchable columns ($1 is the id). */
export function updateValues(record: KeyRecord): unknown[] {
  return [
    record.id,
    record.name,
    record.owner,
    [...record.scopes],
    JSON.stringify(record.metadata),
    record.expiresAt,
    record.revokedAt,
    record.enabled,
    record.remainingUses,
    record.rateLimit?.limit ?? null,
    record.rateLimit?.windowSeconds ?? null,
    record.replacedBy,
    restrictionsParam(record.restrictions),
  ];
}

/** A record as one object of the JSON document a batched update reads (`jsonb_to_recordset`). */
export function updateRecordJson(record: KeyRecord): Record<string, unknown> {
  return {
    id: record.id,
    name: record.name,
    owner: record.owner,
    scopes: record.scopes,
    metadata: record.metadata,
    expires_at: record.expiresAt,
    revoked_at: record.revokedAt,
    enabled: record.enabled,
    remaining_uses: record.remainingUses,
    rate_limit: record.rateLimit?.limit ?? null,
    rate_window: record.rateLimit?.windowSeconds ?? null,
    replaced_by: record.replacedBy,
    restrictions: record.restrictions,
  };
}

export interface AuditRow {
  seq: string;
  at: Date;
  actor: string;
  action: string;
  key_id: string | null;
  changes: Record<string, unknown>;
  detail?: Record<string, string> | null;
}

export function auditFromRow(row: AuditRow): AuditEntry {
  return {
    seq: Number(row.seq),
    at: row.at,
    actor: row.actor,
    action: row.action as AuditEntry['action'],
    keyId: row.key_id,
    changes: row.changes,
    ...(row.detail ? { detail: row.detail } : {}),
  };
}

export function changeFromRow(row: { seq: string; action: string; key_id: string | null }): KeyChange {
  return { seq: Number(row.seq), action: row.action as KeyChange['action'], keyId: row.key_id };
}
