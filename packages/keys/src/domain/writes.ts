// What an administrative change writes, decided once for every store. A store reads and
// locks the key in its transaction, calls one of these on what it read, then writes the
// rows and the audit entries they name, all in that transaction.
import type { AuditAction, KeyPatch, KeyRecord, NewKeyRow } from '../store/types.js';
import { KeyStateError } from './errors.js';
import { applyPatch, creationChanges, patchChanges } from './records.js';
import { checkRevival, moveUses } from './rotation.js';

/** An audit entry a change writes; the store adds who and when (its `AuditContext`). */
export interface AuditWrite {
  readonly keyId: string;
  readonly action: AuditAction;
  readonly changes: Readonly<Record<string, unknown>>;
}

/**
 * What an update writes: the key after the patch and its audit entry (the fields that
 * changed, from and to), or `undefined` when no field changes (nothing is written).
 * Throws `KeyStateError` for a patch that would bring back a revoked or rotated-away key.
 * A `leak` is always audited, even when it changes nothing (a key already revoked, or a
 * report only noted), and never moves an earlier revocation time; so is an `expiring`
 * or `threshold` notice, which changes nothing.
 */
export function updateWrites(
  before: KeyRecord,
  patch: KeyPatch,
  action: AuditAction,
): { record: KeyRecord; audit: AuditWrite } | undefined {
  checkRevival(before, patch);
  const leak = action === 'leak';
  const effective = leak && before.revokedAt ? { ...patch, revokedAt: before.revokedAt } : patch;
  const record = applyPatch(before, effective);
  const changes = patchChanges(before, record);
  if (!leak && action !== 'expiring' && action !== 'threshold' && Object.keys(changes).length === 0) {
    return undefined;
  }
  return { record, audit: { keyId: before.id, action, changes } };
}

/**
 * What a rotation writes: the old key with its shortened life (`patch`, from the plan) and
 * `replacedBy`, the successor (`replaces` set) with the uses the old key had left, and the
 * two audit entries (`rotate` on the old key, `create` on the new one). Throws
 * `KeyStateError` when the old key is revoked or was already rotated.
 */
export function rotationWrites(
  before: KeyRecord,
  successor: NewKeyRow,
  patch: KeyPatch,
): { previous: KeyRecord; successor: NewKeyRow; audit: readonly [AuditWrite, AuditWrite] } {
  if (before.revokedAt) throw new KeyStateError(`key ${before.id} is revoked and cannot be rotated`);
  if (before.replacedBy) {
    throw new KeyStateError(`key ${before.id} was already rotated to ${before.replacedBy}; rotate that one`);
  }
  const moved = moveUses(before, successor, patch);
  const next: NewKeyRow = { ...moved.successor, replaces: before.id };
  const previous: KeyRecord = { ...applyPatch(before, moved.patch), replacedBy: successor.id };
  return {
    previous,
    successor: next,
    audit: [
      {
        keyId: before.id,
        action: 'rotate',
        changes: { ...patchChanges(before, previous), replacedBy: successor.id },
      },
      { keyId: successor.id, action: 'create', changes: creationChanges(next) },
    ],
  };
}

/** The audit entry of a deleted key: what it was called and whose it was (its history stays). */
export function deletionWrites(before: KeyRecord): AuditWrite {
  return { keyId: before.id, action: 'delete', changes: { name: before.name, owner: before.owner } };
}
