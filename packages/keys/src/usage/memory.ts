import {
  KEY_OUTCOME_COUNT,
  OUTCOME_COUNT,
  scopePrefix,
  type UsageCounts,
  type UsageGranularity,
  type UsageRank,
  type UsageRanked,
  type UsageRead,
} from './model.js';

interface Row {
  readonly start: number;
  readonly scope: string;
  readonly counts: Float64Array;
}

/** The sum of a key's refusals (expired to restricted) in a count array. */
export function refusedOf(counts: ArrayLike<number>): number {
  let n = 0;
  for (let o = 1; o < KEY_OUTCOME_COUNT; o++) n += counts[o] ?? 0;
  return n;
}

/** Usage rows in process memory, per granularity: what `MemoryKeyStore` keeps for analytics. */
export class MemoryUsageCounts {
  readonly #rows: Record<UsageGranularity, Map<string, Row>> = {
    minute: new Map(),
    hour: new Map(),
    day: new Map(),
  };

  add(rows: readonly UsageCounts[]): void {
    for (const r of rows) {
      const table = this.#rows[r.granularity];
      const start = r.start.getTime();
      const id = `${start} ${r.scope}`;
      let row = table.get(id);
      if (row === undefined) {
        row = { start, scope: r.scope, counts: new Float64Array(OUTCOME_COUNT) };
        table.set(id, row);
      }
      for (let o = 0; o < OUTCOME_COUNT; o++) row.counts[o]! += r.counts[o] ?? 0;
    }
  }

  read(read: UsageRead): UsageCounts[] {
    const scopes = new Set(read.scopes);
    const since = read.since.getTime();
    const until = read.until.getTime();
    const out: UsageCounts[] = [];
    for (const row of this.#rows[read.granularity].values()) {
      if (!scopes.has(row.scope) || row.start < since || row.start >= until) continue;
      out.push({
        granularity: read.granularity,
        start: new Date(row.start),
        scope: row.scope,
        counts: Array.from(row.counts),
      });
    }
    return out;
  }

  rank(rank: UsageRank): UsageRanked[] {
    const prefix = scopePrefix(rank.group);
    const since = rank.since.getTime();
    const until = rank.until.getTime();
    const sums = new Map<string, { valid: number; refused: number }>();
    for (const row of this.#rows[rank.granularity].values()) {
      if (!row.scope.startsWith(prefix) || row.start < since || row.start >= until) continue;
      const sum = sums.get(row.scope) ?? { valid: 0, refused: 0 };
      sum.valid += row.counts[0]!;
      sum.refused += refusedOf(row.counts);
      sums.set(row.scope, sum);
    }
    return [...sums]
      .map(([scope, s]) => ({ scope, valid: s.valid, refused: s.refused }))
      .filter((r) => r[rank.by] > 0)
      .sort((a, b) => b[rank.by] - a[rank.by] || (a.scope < b.scope ? -1 : 1))
      .slice(0, rank.limit);
  }

  prune(granularity: UsageGranularity, before: Date, limit: number): number {
    const table = this.#rows[granularity];
    const cut = before.getTime();
    let n = 0;
    for (const [id, row] of table) {
      if (n >= limit) break;
      if (row.start < cut) {
        table.delete(id);
        n++;
      }
    }
    return n;
  }
}
