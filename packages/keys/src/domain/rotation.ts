import type { KeyPatch, KeyRecord, NewKeyRow } from '../store/types.js';
import { KeyStateError } from './errors.js';

/** What a rotation writes: the successor's settings and the old key's change. */
export interface RotationPlan {
  /** The successor's record, without id, display or hash yet. */
  readonly successor: KeyRecord;
  /** Applied to the old key: a shortened expiry, or a revocation for grace 0. */
  readonly patch: KeyPatch;
}

/**
 * Plans a rotation at `now`: the successor keeps name, owner, scopes, metadata, enabled
 * and rate limit, and the same lifetime counted from now; the old key keeps working for
 * `graceMs` (never past its own expiry), or is revoked at once for 0. Remaining uses are
 * moved by the store, inside its transaction ({@link moveUses}).
 */
export function planRotation(old: KeyRecord, now: number, graceMs: number): RotationPlan {
  if (old.revokedAt) throw new KeyStateError(`key ${old.id} is revoked and cannot be rotated`);
  if (old.replacedBy) {
    throw new KeyStateError(`key ${old.id} was already rotated to ${old.replacedBy}; rotate that one`);
  }
  const lifetime = old.expiresAt ? old.expiresAt.getTime() - old.createdAt.getTime() : null;
  const successor: KeyRecord = {
    ...old,
    createdAt: new Date(now),
    expiresAt: lifetime === null ? null : new Date(now + Math.max(lifetime, 1000)),
    lastUsedAt: null,
    useCount: 0,
    replaces: old.id,
    replacedBy: null,
  };
  const until = now + graceMs;
  const patch: KeyPatch =
    graceMs === 0
      ? { revokedAt: new Date(now) }
      : { expiresAt: new Date(Math.min(until, old.expiresAt?.getTime() ?? until)) };
  return { successor, patch };
}

/**
 * Run by a store inside its rotate transaction, on the old key as read there: the
 * successor takes the uses the old key has left, and an old key with limited uses keeps
 * none. So a key created with N uses serves N requests across both keys, and a use taken
 * while the rotation was being planned is not handed out again.
 */
export function moveUses(
  before: KeyRecord,
  successor: NewKeyRow,
  patch: KeyPatch,
): { successor: NewKeyRow; patch: KeyPatch } {
  const left = before.remainingUses;
  return {
    successor: { ...successor, remainingUses: left },
    patch: left === null ? patch : { ...patch, remainingUses: 0 },
  };
}

/**
 * Run by a store inside its update transaction, on the key as read there: refuses a
 * patch that would bring back a key that is meant to be over. A revoked key stays
 * revoked; a key rotated away (`replacedBy` set) may have its expiry and uses shortened,
 * never lengthened or removed, since its successor holds them now ("the old key stops at
 * the end of the grace period", "N uses serve N requests in all").
 */
export function checkRevival(before: KeyRecord, patch: KeyPatch): void {
  if (before.revokedAt && patch.revokedAt === null) {
    throw new KeyStateError(`key ${before.id} is revoked for good; issue a new key instead`);
  }
  if (!before.replacedBy) return;
  const until = before.expiresAt?.getTime();
  const later =
    patch.expiresAt !== undefined &&
    until !== undefined &&
    (patch.expiresAt === null || patch.expiresAt.getTime() > until);
  const left = before.remainingUses;
  const more =
    patch.remainingUses !== undefined &&
    left !== null &&
    (patch.remainingUses === null || patch.remainingUses > left);
  if (later || more) {
    throw new KeyStateError(
      `key ${before.id} was rotated to ${before.replacedBy}: its expiry and uses can be shortened, not extended (change the successor instead)`,
    );
  }
}
