// Rotation in place: a key keeps its id, settings, limits and history and gets a new
// secret; the previous secret keeps working until the end of the grace period, as the
// same key (same row, same id), so revoking or disabling the key stops both at once.
import type { KeyRecord } from '../store/types.js';
import { KeyStateError } from './errors.js';
import type { AuditWrite } from './writes.js';

/**
 * What a store answers for a key found by its previous secret: the key as it is, but
 * expiring when that secret stops (or earlier, with the key).
 */
export function previousSecretRecord(record: KeyRecord, until: Date): KeyRecord {
  if (record.expiresAt !== null && record.expiresAt.getTime() <= until.getTime()) return record;
  return { ...record, expiresAt: new Date(until) };
}

/**
 * What replacing a key's secret writes, decided on the key as read in the transaction:
 * the new display fragment, and the audit entry (`rotate`, `inPlace: true`, never the
 * secret or its hash). Throws `KeyStateError` for a revoked key or one rotated away.
 * `previousUntil` is when the old secret stops (`null`: at once).
 */
export function secretReplacementWrites(
  before: KeyRecord,
  display: string,
  previousUntil: Date | null,
): { record: KeyRecord; audit: AuditWrite } {
  if (before.revokedAt) throw new KeyStateError(`key ${before.id} is revoked and cannot be rotated`);
  if (before.replacedBy) {
    throw new KeyStateError(`key ${before.id} was already rotated to ${before.replacedBy}; rotate that one`);
  }
  return {
    record: { ...before, display },
    audit: {
      keyId: before.id,
      action: 'rotate',
      changes: {
        inPlace: true,
        display: { from: before.display, to: display },
        previousSecretUntil: previousUntil === null ? null : previousUntil.toISOString(),
      },
    },
  };
}
