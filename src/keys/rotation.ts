import { KeyStateError } from './errors.js';
import type { KeyPatch, KeyRecord } from './types.js';

/** What a rotation writes: the successor's settings and the old key's change. */
export interface RotationPlan {
  /** The successor's record, without id, display or hash yet. */
  readonly successor: KeyRecord;
  /** Applied to the old key: a shortened expiry, or a revocation for grace 0. */
  readonly patch: KeyPatch;
}

/**
 * Plans a rotation at `now`: the successor keeps name, owner, scopes, metadata, enabled,
 * uses left and rate limit, and the same lifetime counted from now; the old key keeps
 * working for `graceMs` (never past its own expiry), or is revoked at once for 0.
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
