import type { Guard } from '../core/guard.js';

/** Marks a framework middleware with the guard it enforces, so routes can be documented. */
export const GUARD: unique symbol = Symbol.for('keyward.guard');
/** Marks a route handler as explicitly public. */
export const PUBLIC: unique symbol = Symbol.for('keyward.public');

export function isGuard<P>(value: unknown): value is Guard<P> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Guard).authenticate === 'function' &&
    typeof (value as Guard).family === 'object'
  );
}

/** The guard a middleware was tagged with, if any. */
export function guardOf(handler: unknown): Guard | undefined {
  return (handler as { [GUARD]?: Guard } | null)?.[GUARD];
}

export function isPublicHandler(handler: unknown): boolean {
  return (handler as { [PUBLIC]?: true } | null)?.[PUBLIC] === true;
}

/** Marks a route handler that is left out of the OpenAPI document (the docs routes themselves). */
export const HIDDEN: unique symbol = Symbol.for('keyward.hidden');

export function isHiddenHandler(handler: unknown): boolean {
  return (handler as { [HIDDEN]?: true } | null)?.[HIDDEN] === true;
}
