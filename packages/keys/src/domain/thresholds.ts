// Usage thresholds: the share of a key's limited uses spent at which a `usage.threshold`
// notice is written, once per threshold and balance period. A period starts with the
// audit entry that last set the key's uses (its creation, an update, or a rotation that
// moved the uses left to it); the uses that entry set are the period's total.
import type { AuditEntry } from '../store/types.js';

/** The thresholds, in percent of the total spent. */
export const USAGE_THRESHOLDS = [80, 100] as const;

/** The uses an audit entry set (`remainingUses` as a value on creation, `{from, to}` on update), if it set them. */
export function usesSet(entry: AuditEntry): number | null | undefined {
  if (!('remainingUses' in entry.changes)) return undefined;
  const value = entry.changes.remainingUses;
  const uses = value !== null && typeof value === 'object' && 'to' in value ? value.to : value;
  return typeof uses === 'number' ? uses : null;
}

/** The thresholds reached with `remaining` of `total` uses left, lowest first (none for an empty total). */
export function thresholdsReached(total: number, remaining: number): number[] {
  if (!(total > 0)) return [];
  return USAGE_THRESHOLDS.filter((t) => (total - remaining) * 100 >= t * total);
}
