// Usage thresholds: the share of a key's limited uses spent at which a `usage.threshold`
// notice is written, once per threshold and balance period. A period starts with the
// audit entry that last set the key's uses (its creation, an update, or a rotation that
// moved the uses left to it); the uses that entry set are the period's total. An owner's
// shared credits have periods too: each refill, or credits set by create or update.
import type { AuditEntry, OwnerRecord } from '../store/types.js';
import { periodStart } from './owners.js';

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

/** The credits an owner's `owner_create`/`owner_update` entry set (a value, or `{from, to}`), if it set them. */
export function creditsSet(entry: AuditEntry): number | null | undefined {
  if (entry.action !== 'owner_create' && entry.action !== 'owner_update') return undefined;
  if (!('credits' in entry.changes)) return undefined;
  const value = entry.changes.credits;
  const credits = value !== null && typeof value === 'object' && 'to' in value ? value.to : value;
  return typeof credits === 'number' ? credits : null;
}

/** An owner's current credit period: what identifies it, its total, and the credits left. */
export interface CreditPeriod {
  /** `refill:<ISO start>` for a refill period, `set:<seq>` for credits set by an audit entry. */
  readonly period: string;
  readonly total: number;
  readonly remaining: number;
}

/**
 * The owner's current credit period as of `now`, given the newest entry that set its
 * credits (`setter`, if found) and its balance as of now (`remaining`, as `creditsAt`
 * gives it). A refill starts a new period with the refill amount as total: one due now
 * (the balance then is the refill amount) or the one last applied (`refilledAt`), unless
 * credits were set after it. Otherwise the period is the setter's. `undefined` for
 * unlimited credits or a period whose start is unknown.
 */
export function creditPeriod(
  owner: OwnerRecord,
  setter: AuditEntry | undefined,
  remaining: number | null,
  now: number,
): CreditPeriod | undefined {
  if (remaining === null) return undefined;
  if (owner.refill !== null) {
    const start = periodStart(owner.refill, now);
    const due = owner.refilledAt === null || owner.refilledAt.getTime() < start;
    const refilled = due ? start : owner.refilledAt!.getTime();
    if (due || setter === undefined || setter.at.getTime() < refilled) {
      const period = `refill:${new Date(refilled).toISOString()}`;
      return { period, total: owner.refill.amount, remaining };
    }
  }
  const total = setter === undefined ? undefined : creditsSet(setter);
  if (setter === undefined || typeof total !== 'number') return undefined;
  return { period: `set:${setter.seq}`, total, remaining };
}
