import type { AuditEntry, KeyRecord, NewKeyRow } from '@keyward/keys/store';
import type { Restrictions } from 'keyward';

/** A `keyward_keys` row as better-sqlite3 returns it. */
export interface KeyRow {
  id: string;
  display: string;
  name: string;
  owner: string | null;
  scopes: string;
  metadata: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  enabled: number;
  last_used_at: number | null;
  use_count: number;
  remaining_uses: number | null;
  rate_limit: number | null;
  rate_window: number | null;
  replaces: string | null;
  replaced_by: string | null;
  /** JSON, or null for none. */
  restrictions: string | null;
}

/** Every column but the hash, which never leaves the store. */
export const KEY_COLUMNS =
  'id, display, name, owner, scopes, metadata, created_at, expires_at, revoked_at, enabled, last_used_at, use_count, remaining_uses, rate_limit, rate_window, replaces, replaced_by, restrictions';

const date = (ms: number | null) => (ms === null ? null : new Date(ms));
const ms = (d: Date | null) => (d === null ? null : d.getTime());

export function fromRow(row: KeyRow): KeyRecord {
  return {
    id: row.id,
    name: row.name,
    owner: row.owner,
    display: row.display,
    scopes: JSON.parse(row.scopes) as string[],
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    createdAt: new Date(row.created_at),
    expiresAt: date(row.expires_at),
    revokedAt: date(row.revoked_at),
    enabled: row.enabled === 1,
    lastUsedAt: date(row.last_used_at),
    useCount: row.use_count,
    remainingUses: row.remaining_uses,
    rateLimit:
      row.rate_limit === null || row.rate_window === null
        ? null
        : { limit: row.rate_limit, windowSeconds: row.rate_window },
    replaces: row.replaces,
    replacedBy: row.replaced_by,
    restrictions: row.restrictions === null ? null : (JSON.parse(row.restrictions) as Restrictions),
  };
}

/**
 * A row read with `.raw()`, values in `KEY_COLUMNS` order. The lookup by hash reads rows
 * this way: better-sqlite3 builds an array in about half the time of an object.
 */
export function fromValues(v: readonly unknown[]): KeyRecord {
  return fromRow({
    id: v[0],
    display: v[1],
    name: v[2],
    owner: v[3],
    scopes: v[4],
    metadata: v[5],
    created_at: v[6],
    expires_at: v[7],
    revoked_at: v[8],
    enabled: v[9],
    last_used_at: v[10],
    use_count: v[11],
    remaining_uses: v[12],
    rate_limit: v[13],
    rate_window: v[14],
    replaces: v[15],
    replaced_by: v[16],
    restrictions: v[17],
  } as KeyRow);
}

/** Named parameters for INSERT and UPDATE statements. */
export function toParams(record: KeyRecord): Record<string, unknown> {
  return {
    id: record.id,
    display: record.display,
    name: record.name,
    owner: record.owner,
    scopes: JSON.stringify(record.scopes),
    metadata: JSON.stringify(record.metadata),
    created_at: ms(record.createdAt),
    expires_at: ms(record.expiresAt),
    revoked_at: ms(record.revokedAt),
    enabled: record.enabled ? 1 : 0,
    last_used_at: ms(record.lastUsedAt),
    use_count: record.useCount,
    remaining_uses: record.remainingUses,
    rate_limit: record.rateLimit?.limit ?? null,
    rate_window: record.rateLimit?.windowSeconds ?? null,
    replaces: record.replaces,
    replaced_by: record.replacedBy,
    restrictions: record.restrictions === null ? null : JSON.stringify(record.restrictions),
  };
}

/** Most imported keys have no metadata: skip `JSON.stringify` for them. */
function isEmpty(value: object): boolean {
  for (const _ in value) return false;
  return true;
}

/** Positional values for `INSERT ... (hash, tag, KEY_COLUMNS)`: binding by position is the fast path for imports. */
export function insertValues(row: NewKeyRow): unknown[] {
  return [
    Buffer.isBuffer(row.hash)
      ? row.hash
      : Buffer.from(row.hash.buffer, row.hash.byteOffset, row.hash.byteLength),
    row.tag ?? null,
    row.id,
    row.display,
    row.name,
    row.owner,
    row.scopes.length === 0 ? '[]' : JSON.stringify(row.scopes),
    isEmpty(row.metadata) ? '{}' : JSON.stringify(row.metadata),
    row.createdAt.getTime(),
    ms(row.expiresAt),
    ms(row.revokedAt),
    row.enabled ? 1 : 0,
    ms(row.lastUsedAt),
    row.useCount,
    row.remainingUses,
    row.rateLimit?.limit ?? null,
    row.rateLimit?.windowSeconds ?? null,
    row.replaces,
    row.replacedBy,
    row.restrictions === null ? null : JSON.stringify(row.restrictions),
  ];
}

export interface AuditRow {
  seq: number;
  at: number;
  actor: string;
  action: string;
  key_id: string | null;
  changes: string;
  detail?: string | null;
}

export function auditFromRow(row: AuditRow): AuditEntry {
  return {
    seq: row.seq,
    at: new Date(row.at),
    actor: row.actor,
    action: row.action as AuditEntry['action'],
    keyId: row.key_id,
    changes: JSON.parse(row.changes) as Record<string, unknown>,
    ...(row.detail ? { detail: JSON.parse(row.detail) as Record<string, string> } : {}),
  };
}
