import type { OwnerRecord } from '@keyward/keys/store';
import type Database from 'better-sqlite3';
import type { Restrictions } from 'keyward';

/** A `keyward_owners` row as better-sqlite3 returns it. */
export interface OwnerRow {
  name: string;
  rate_limit: number | null;
  rate_window: number | null;
  credits: number | null;
  refill_amount: number | null;
  refill_period: string | null;
  refill_day: number | null;
  refill_tz: string | null;
  refilled_at: number | null;
  metadata: string;
  max_lifetime: number | null;
  /** JSON of the canonical restrictions (migration 8); null for none. */
  restrictions: string | null;
  created_at: number;
  updated_at: number;
}

const COLUMNS =
  'name, rate_limit, rate_window, credits, refill_amount, refill_period, refill_day, refill_tz, refilled_at, metadata, max_lifetime, created_at, updated_at, restrictions';

/** Migration 3: owners (see `OwnerRecord`), and the previous secret of a key rotated in place. */
export const OWNERS_MIGRATION = `
  ALTER TABLE keyward_keys ADD COLUMN prev_hash BLOB;
  ALTER TABLE keyward_keys ADD COLUMN prev_tag INTEGER;
  ALTER TABLE keyward_keys ADD COLUMN prev_until INTEGER;
  CREATE UNIQUE INDEX keyward_keys_prev_hash ON keyward_keys (prev_hash) WHERE prev_hash IS NOT NULL;
  CREATE TABLE keyward_owners (
    name TEXT PRIMARY KEY,
    rate_limit INTEGER,
    rate_window INTEGER,
    credits INTEGER CHECK (credits >= 0),
    refill_amount INTEGER,
    refill_period TEXT,
    refill_day INTEGER,
    refill_tz TEXT,
    refilled_at INTEGER,
    metadata TEXT NOT NULL,
    max_lifetime INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT;
`;

const date = (ms: number | null) => (ms === null ? null : new Date(ms));

export function ownerFromRow(row: OwnerRow): OwnerRecord {
  return {
    name: row.name,
    rateLimit:
      row.rate_limit === null || row.rate_window === null
        ? null
        : { limit: row.rate_limit, windowSeconds: row.rate_window },
    credits: row.credits,
    refill:
      row.refill_amount === null
        ? null
        : {
            amount: row.refill_amount,
            period: row.refill_period as 'day' | 'month',
            day: row.refill_day,
            timeZone: row.refill_tz ?? 'UTC',
          },
    refilledAt: date(row.refilled_at),
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    maxLifetimeMs: row.max_lifetime,
    restrictions: row.restrictions === null ? null : (JSON.parse(row.restrictions) as Restrictions),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

export function ownerParams(o: OwnerRecord): Record<string, unknown> {
  return {
    name: o.name,
    rate_limit: o.rateLimit?.limit ?? null,
    rate_window: o.rateLimit?.windowSeconds ?? null,
    credits: o.credits,
    refill_amount: o.refill?.amount ?? null,
    refill_period: o.refill?.period ?? null,
    refill_day: o.refill?.day ?? null,
    refill_tz: o.refill?.timeZone ?? null,
    refilled_at: o.refilledAt?.getTime() ?? null,
    metadata: JSON.stringify(o.metadata),
    max_lifetime: o.maxLifetimeMs,
    restrictions: o.restrictions === null ? null : JSON.stringify(o.restrictions),
    created_at: o.createdAt.getTime(),
    updated_at: o.updatedAt.getTime(),
  };
}

// A refill is due when the owner refills and its marker is before the current period.
const DUE =
  '(refill_amount IS NOT NULL AND @period IS NOT NULL AND (refilled_at IS NULL OR refilled_at < @period))';
const BALANCE = `(CASE WHEN ${DUE} THEN refill_amount ELSE credits END)`;

/**
 * One statement: applies a refill due and takes the cost only when the balance (after the
 * refill) covers it; the marker moves with the spend, so a refill happens once. Named
 * parameters `name`, `cost`, `period` (ms or null); returns the balance left. Also run by
 * the writer worker.
 */
export const SPEND = `UPDATE keyward_owners SET credits = ${BALANCE} - @cost,
  refilled_at = CASE WHEN ${DUE} THEN @period ELSE refilled_at END
  WHERE name = @name AND credits IS NOT NULL AND ${BALANCE} >= @cost RETURNING credits`;

type Statement = Database.Statement;
/** The owner statements, by name. */
export type OwnerStatements = Record<
  'insert' | 'get' | 'list' | 'update' | 'delete' | 'liveKeys' | 'spend' | 'stale' | 'secret',
  Statement
>;

/** The owner statements, prepared once at open. */
export function ownerStatements(db: Database.Database): OwnerStatements {
  return {
    insert: db.prepare(
      `INSERT INTO keyward_owners (${COLUMNS}) VALUES (${COLUMNS.split(', ')
        .map((c) => `@${c}`)
        .join(', ')}) ON CONFLICT (name) DO NOTHING`,
    ),
    get: db.prepare(`SELECT ${COLUMNS} FROM keyward_owners WHERE name = ?`),
    list: db.prepare(`SELECT ${COLUMNS} FROM keyward_owners WHERE name > ? ORDER BY name LIMIT ?`),
    update: db.prepare(`UPDATE keyward_owners SET rate_limit = @rate_limit, rate_window = @rate_window,
      credits = @credits, refill_amount = @refill_amount, refill_period = @refill_period,
      refill_day = @refill_day, refill_tz = @refill_tz, refilled_at = @refilled_at, metadata = @metadata,
      max_lifetime = @max_lifetime, restrictions = @restrictions, updated_at = @updated_at WHERE name = @name`),
    delete: db.prepare('DELETE FROM keyward_owners WHERE name = ?'),
    liveKeys: db
      .prepare('SELECT id FROM keyward_keys WHERE owner = ? AND revoked_at IS NULL ORDER BY id')
      .pluck(),
    spend: db.prepare(SPEND).pluck(),
    /** A new secret for a key: hash, tag, display, previous until (ms or null), id. */
    secret: db.prepare(`UPDATE keyward_keys SET prev_hash = CASE WHEN @until IS NULL THEN NULL ELSE hash END,
      prev_tag = CASE WHEN @until IS NULL THEN NULL ELSE tag END, prev_until = @until,
      hash = @hash, tag = @tag, display = @display WHERE id = @id`),
    stale: db
      .prepare(
        'SELECT id FROM keyward_keys WHERE enabled = 1 AND revoked_at IS NULL AND coalesce(last_used_at, created_at) < ? ORDER BY id',
      )
      .pluck(),
  };
}
