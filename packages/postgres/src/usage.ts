import {
  OUTCOME_COUNT,
  REFUSED_OUTCOMES,
  scopeRange,
  USAGE_TIER as TIER,
  USAGE_OUTCOMES,
  type UsageCounts,
  type UsageGranularity,
  type UsageRank,
  type UsageRanked,
  type UsageRead,
} from '@keyward/keys/store';

const COLUMNS = USAGE_OUTCOMES.join(', ');
const REFUSED = REFUSED_OUTCOMES.join(' + ');
/** Rows per INSERT: each is 15 array parameters, kept well under a statement's natural size. */
export const USAGE_CHUNK = 20_000;

/**
 * Migration 3: the usage rows, keyed by scope (a series, or many keys' series, is one
 * index condition: `scope = ANY(...)`), indexed by period for ranking and retention.
 */
export const USAGE_MIGRATION = (s: string) => `
  CREATE TABLE ${s}keyward_usage (
    tier smallint NOT NULL,
    bucket timestamptz NOT NULL,
    scope text COLLATE "C" NOT NULL,
    valid bigint NOT NULL DEFAULT 0,
    expired bigint NOT NULL DEFAULT 0,
    revoked bigint NOT NULL DEFAULT 0,
    disabled bigint NOT NULL DEFAULT 0,
    insufficient_scope bigint NOT NULL DEFAULT 0,
    rate_limited bigint NOT NULL DEFAULT 0,
    usage_exceeded bigint NOT NULL DEFAULT 0,
    restricted bigint NOT NULL DEFAULT 0,
    missing bigint NOT NULL DEFAULT 0,
    duplicate bigint NOT NULL DEFAULT 0,
    invalid bigint NOT NULL DEFAULT 0,
    unavailable bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tier, scope, bucket)
  );
  CREATE INDEX keyward_usage_period ON ${s}keyward_usage (tier, bucket);
`;

type Query = (text: string, values: unknown[]) => Promise<Record<string, unknown>[]>;

/** The analytics statements of the PostgreSQL store, for the table `table` (schema-qualified). */
export class PgUsage {
  readonly #upsert: string;
  readonly #read: string;
  readonly #rank: Record<'valid' | 'refused', string>;
  readonly #prune: string;

  constructor(table: string) {
    const arrays = USAGE_OUTCOMES.map((_, i) => `$${i + 4}::bigint[]`).join(', ');
    // Adds to the row of another process or an earlier flush: n = n + delta. Rows come
    // sorted, so concurrent writers lock them in one order and never deadlock.
    this.#upsert = `INSERT INTO ${table} AS u (tier, bucket, scope, ${COLUMNS})
      SELECT * FROM unnest($1::smallint[], $2::timestamptz[], $3::text[], ${arrays})
      ON CONFLICT (tier, scope, bucket) DO UPDATE SET
      ${USAGE_OUTCOMES.map((o) => `${o} = u.${o} + excluded.${o}`).join(', ')}`;
    // All rows as one JSON array: one JSON.parse here, where 30,000 rows of 15 text fields
    // cost the driver ten times the query.
    this.#read = `SELECT coalesce(json_agg(json_build_array(
        (extract(epoch FROM bucket) * 1000)::bigint, scope, ${COLUMNS})), '[]') AS rows
      FROM ${table} WHERE tier = $2 AND scope = ANY($1::text[]) AND bucket >= $3 AND bucket < $4`;
    const rank = (
      by: string,
    ) => `SELECT scope, sum(valid)::float8 AS valid, sum(${REFUSED})::float8 AS refused
      FROM ${table} WHERE tier = $1 AND bucket >= $2 AND bucket < $3 AND scope >= $4 AND scope < $5
      GROUP BY scope HAVING sum(${by === 'valid' ? 'valid' : REFUSED}) > 0 ORDER BY ${by} DESC, scope LIMIT $6`;
    this.#rank = { valid: rank('valid'), refused: rank('refused') };
    this.#prune = `DELETE FROM ${table} WHERE ctid = ANY(ARRAY(
      SELECT ctid FROM ${table} WHERE tier = $1 AND bucket < $2 LIMIT $3))`;
  }

  /** Adds a chunk of rows (at most {@link USAGE_CHUNK}) in one statement. */
  async add(query: Query, rows: readonly UsageCounts[]): Promise<void> {
    const columns: unknown[][] = Array.from({ length: 3 + OUTCOME_COUNT }, () => new Array(rows.length));
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      columns[0]![i] = TIER[r.granularity];
      columns[1]![i] = r.start;
      columns[2]![i] = r.scope;
      for (let o = 0; o < OUTCOME_COUNT; o++) columns[3 + o]![i] = r.counts[o] ?? 0;
    }
    await query(this.#upsert, columns);
  }

  async read(query: Query, read: UsageRead): Promise<UsageCounts[]> {
    const [result] = await query(this.#read, [read.scopes, TIER[read.granularity], read.since, read.until]);
    // Numbers in JSON: exact up to 2^53.
    const rows = (result?.['rows'] ?? []) as [number, string, ...number[]][];
    return rows.map((r) => ({
      granularity: read.granularity,
      start: new Date(r[0]),
      scope: r[1],
      counts: r.slice(2) as number[],
    }));
  }

  async rank(query: Query, rank: UsageRank): Promise<UsageRanked[]> {
    const { from, to } = scopeRange(rank.group);
    const rows = await query(this.#rank[rank.by], [
      TIER[rank.granularity],
      rank.since,
      rank.until,
      from,
      to,
      rank.limit,
    ]);
    return rows.map((r) => ({
      scope: r['scope'] as string,
      valid: Number(r['valid']),
      refused: Number(r['refused']),
    }));
  }

  async prune(query: Query, granularity: UsageGranularity, before: Date, limit: number): Promise<number> {
    const rows = await query(`${this.#prune} RETURNING 1`, [TIER[granularity], before, limit]);
    return rows.length;
  }
}
