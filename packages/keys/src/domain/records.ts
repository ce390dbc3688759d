import type { KeyPatch, KeyRecord, NewKeyRow } from '../store/types.js';
import { KeyInputError } from './errors.js';
import { isKeyId } from './ids.js';
import { canonicalRestrictions, mergeRestrictions } from './restrictions.js';

/** Where a key stands at a moment; `active` keys verify. */
export type KeyState = 'active' | 'expired' | 'revoked' | 'disabled';

export function keyState(record: KeyRecord, now: number = Date.now()): KeyState {
  if (record.revokedAt) return 'revoked';
  if (!record.enabled) return 'disabled';
  if (record.expiresAt && record.expiresAt.getTime() <= now) return 'expired';
  return 'active';
}

function plain(value: unknown): unknown {
  return value instanceof Date ? value.toISOString() : value;
}

const PATCH_FIELDS = [
  'name',
  'owner',
  'scopes',
  'metadata',
  'expiresAt',
  'revokedAt',
  'enabled',
  'remainingUses',
  'rateLimit',
  'restrictions',
] as const satisfies readonly (keyof KeyPatch)[];

/** The record with the patch applied (fields the patch leaves out are kept). */
export function applyPatch<R extends KeyRecord>(record: R, patch: KeyPatch): R {
  const next = { ...record } as Record<string, unknown>;
  for (const field of PATCH_FIELDS) if (patch[field] !== undefined) next[field] = patch[field];
  // A patch names the restriction kinds it changes; the others stay.
  if (patch.restrictions !== undefined)
    next['restrictions'] = mergeRestrictions(record.restrictions, patch.restrictions);
  return next as R;
}

/** `{field: {from, to}}` for each patched field whose value changed; Dates as ISO strings. */
export function patchChanges(before: KeyRecord, after: KeyRecord): Record<string, unknown> {
  const changes: Record<string, unknown> = {};
  for (const field of PATCH_FIELDS) {
    // Restrictions with their kinds in one order: PostgreSQL's jsonb reorders them.
    const from = field === 'restrictions' ? canonicalRestrictions(before[field]) : plain(before[field]);
    const to = field === 'restrictions' ? canonicalRestrictions(after[field]) : plain(after[field]);
    if (JSON.stringify(from) !== JSON.stringify(to)) changes[field] = { from, to };
  }
  return changes;
}

/** The audit `changes` of a new key: its settings, never its value, hash or display fragment. */
export function creationChanges(row: KeyRecord): Record<string, unknown> {
  const changes: Record<string, unknown> = {
    name: row.name,
    owner: row.owner,
    scopes: row.scopes,
    expiresAt: plain(row.expiresAt),
    enabled: row.enabled,
    remainingUses: row.remainingUses,
    rateLimit: row.rateLimit,
  };
  if (row.restrictions) changes['restrictions'] = row.restrictions;
  if (Object.keys(row.metadata).length > 0) changes['metadata'] = row.metadata;
  if (row.replaces) changes['replaces'] = row.replaces;
  return changes;
}

/**
 * `JSON.stringify(creationChanges(row))` for the rows of a batch, computed again only when
 * a row's settings differ (by reference) from the previous row's: the keys of an import
 * mostly share one settings object, so most rows reuse the previous row's text.
 */
export class CreationChanges {
  #last: KeyRecord | undefined;
  #json = '';

  of(row: KeyRecord): string {
    const last = this.#last;
    if (last === undefined || !sameSettings(last, row)) {
      this.#json = JSON.stringify(creationChanges(row));
      this.#last = row;
    }
    return this.#json;
  }
}

function sameSettings(a: KeyRecord, b: KeyRecord): boolean {
  return (
    a.name === b.name &&
    a.owner === b.owner &&
    a.scopes === b.scopes &&
    a.metadata === b.metadata &&
    a.expiresAt === b.expiresAt &&
    a.enabled === b.enabled &&
    a.remainingUses === b.remainingUses &&
    a.rateLimit === b.rateLimit &&
    a.restrictions === b.restrictions &&
    a.replaces === b.replaces
  );
}

/** A record with every setting at its default, created at `now`. */
export function blankRecord(now: number): KeyRecord {
  return {
    id: '',
    name: '',
    owner: null,
    display: '',
    scopes: [],
    metadata: {},
    createdAt: new Date(now),
    expiresAt: null,
    revokedAt: null,
    enabled: true,
    lastUsedAt: null,
    useCount: 0,
    remainingUses: null,
    rateLimit: null,
    restrictions: null,
    replaces: null,
    replacedBy: null,
  };
}

/**
 * A new key's row: `base`'s settings with its own id, display, hash and tag. Every field
 * is listed rather than spread: here a spread of a record cost about 3.5 µs and gave rows
 * that were several times slower to read, a quarter of an import's time.
 */
export function newKeyRow(
  base: KeyRecord,
  id: string,
  display: string,
  hash: Uint8Array,
  tag: number,
): NewKeyRow {
  return {
    id,
    name: base.name,
    owner: base.owner,
    display,
    scopes: base.scopes,
    metadata: base.metadata,
    createdAt: base.createdAt,
    expiresAt: base.expiresAt,
    revokedAt: base.revokedAt,
    enabled: base.enabled,
    lastUsedAt: base.lastUsedAt,
    useCount: base.useCount,
    remainingUses: base.remainingUses,
    rateLimit: base.rateLimit,
    restrictions: base.restrictions,
    replaces: base.replaces,
    replacedBy: base.replacedBy,
    hash,
    tag,
    // Every field, optional ones included: a field added to the record must be added here.
  } satisfies { [K in keyof Required<NewKeyRow>]: NewKeyRow[K] };
}

/** The public record of a stored row: the hash and tag are dropped. */
export function recordOf(row: NewKeyRow): KeyRecord {
  const { hash: _hash, tag: _tag, ...record } = row;
  return record;
}

/** Validates a page size (default 100, 1..1000). */
export function pageLimit(limit: number | undefined): number {
  const value = limit ?? 100;
  if (!Number.isInteger(value) || value < 1 || value > 1000) {
    throw new KeyInputError('limit must be an integer from 1 to 1000');
  }
  return value;
}

/** Paging cursors are opaque: the base64url of the last id of the page. */
export function encodeCursor(lastId: string): string {
  return Buffer.from(lastId, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!isKeyId(id)) throw new KeyInputError('invalid cursor');
  return id;
}
