import type { AuthFailure } from './failures.js';
import type { KeySource } from './request.js';

// A registry symbol, like AuthFailure's brand: restrictions built by another copy of
// keyward (two versions installed) are still recognised, never silently skipped.
const RESTRICTION = Symbol.for('keyward.restriction');

/** The client address of a request, read the way the guard's rate limits read it. */
export type ClientAddressReader = (source: KeySource) => string | undefined;

/**
 * Where a principal may be used: built by `compileRestrictions` (or
 * `combineRestrictions`), checked by the guard after verification and before scopes,
 * rate limits and spending. Sync, no I/O, and it must not throw. The guard's default
 * `restrictionsOf` reads a principal's `restrictions` property only when it is one of
 * these (`isRestriction`).
 */
export interface RequestRestriction {
  /** The refusal (403 `restricted`) for a request outside the restriction, `undefined` inside it. */
  refusal(source: KeySource, clientAddress: ClientAddressReader): AuthFailure | undefined;
}

/** Marks an object as a {@link RequestRestriction} (for `compileRestrictions` and combinators). */
export function markRestriction(target: object): void {
  Object.defineProperty(target, RESTRICTION, { value: true });
}

/** Whether a value is a {@link RequestRestriction}, from this copy of keyward or another. */
export function isRestriction(value: unknown): value is RequestRestriction {
  return (value as { [RESTRICTION]?: unknown } | null | undefined)?.[RESTRICTION] === true;
}
