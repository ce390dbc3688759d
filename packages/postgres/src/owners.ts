import type { OwnerRecord } from '@keyward/keys/store';
import type { Restrictions } from 'keyward';

/** A `keyward_owners` row as pg returns it. */
export interface OwnerRow {
  name: string;
  rate_limit: number | null;
  rate_window: number | null;
  credits: string | null;
  refill_amount: string | null;
  refill_period: string | null;
  refill_day: number | null;
  refill_tz: string | null;
  refilled_at: Date | null;
  metadata: Record<string, unknown>;
  max_lifetime: string | null;
  /** Migration 7; null for none. */
  restrictions: Restrictions | null;
  created_at: Date;
  updated_at: Date;
}

export const OWNER_COLUMNS =
  'name, rate_limit, rate_window, credits, refill_amount, refill_period, refill_day, refill_tz, refilled_at, metadata, max_lifetime, created_at, updated_at, restrictions';

/** Migration 2: owners (see `OwnerRecord`), and the previous secret of a key rotated in place; `s` is the schema prefix. */
export const ownersMigration = (s: string) => `
  ALTER TABLE ${s}keyward_keys ADD COLUMN prev_hash bytea, ADD COLUMN prev_until timestamptz;
  CREATE UNIQUE INDEX keyward_keys_prev_hash ON ${s}keyward_keys (prev_hash) WHERE prev_hash IS NOT NULL;
  CREATE TABLE ${s}keyward_owners (
    name text COLLATE "C" PRIMARY KEY,
    rate_limit integer,
    rate_window integer,
    credits bigint CHECK (credits >= 0),
    refill_amount bigint,
    refill_period text,
    refill_day integer,
    refill_tz text,
    refilled_at timestamptz,
    metadata jsonb NOT NULL,
    max_lifetime bigint,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
  );
`;

const num = (v: string | null) => (v === null ? null : Number(v));

export function ownerFromRow(row: OwnerRow): OwnerRecord {
  return {
    name: row.name,
    rateLimit:
      row.rate_limit === null || row.rate_window === null
        ? null
        : { limit: row.rate_limit, windowSeconds: row.rate_window },
    credits: num(row.credits),
    refill:
      row.refill_amount === null
        ? null
        : {
            amount: Number(row.refill_amount),
            period: row.refill_period as 'day' | 'month',
            day: row.refill_day,
            timeZone: row.refill_tz ?? 'UTC',
          },
    refilledAt: row.refilled_at,
    metadata: row.metadata,
    maxLifetimeMs: num(row.max_lifetime),
    restrictions: row.restrictions,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Values in `OWNER_COLUMNS` order. */
export function ownerValues(o: OwnerRecord): unknown[] {
  return [
    o.name,
    o.rateLimit?.limit ?? null,
    o.rateLimit?.windowSeconds ?? null,
    o.credits,
    o.refill?.amount ?? null,
    o.refill?.period ?? null,
    o.refill?.day ?? null,
    o.refill?.timeZone ?? null,
    o.refilledAt,
    JSON.stringify(o.metadata),
    o.maxLifetimeMs,
    o.createdAt,
    o.updatedAt,
    o.restrictions === null ? null : JSON.stringify(o.restrictions),
  ];
}

export const OWNER_PLACEHOLDERS = OWNER_COLUMNS.split(', ')
  .map((_, i) => `$${i + 1}`)
  .join(', ');

/** `SET` list for an update by name ($1), every other column in order. */
export const OWNER_SET = OWNER_COLUMNS.split(', ')
  .slice(1)
  .map((c, i) => `${c} = $${i + 2}`)
  .join(', ');

// $1 name, $2 cost, $3 start of the current refill period (or null).
const DUE =
  '(refill_amount IS NOT NULL AND $3::timestamptz IS NOT NULL AND (refilled_at IS NULL OR refilled_at < $3::timestamptz))';
const BALANCE = `(CASE WHEN ${DUE} THEN refill_amount ELSE credits END)`;

/**
 * One statement, so the row lock makes it atomic: applies a refill due and takes the cost
 * only when the balance (after the refill) covers it; the marker moves with the spend.
 */
export const spendSql = (table: string) =>
  `UPDATE ${table} SET credits = ${BALANCE} - $2::bigint,
    refilled_at = CASE WHEN ${DUE} THEN $3::timestamptz ELSE refilled_at END
    WHERE name = $1 AND credits IS NOT NULL AND ${BALANCE} >= $2::bigint RETURNING credits`;
