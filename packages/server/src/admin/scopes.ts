/** What a root key may do on the admin API, one scope per area; `keyward:*` holds them all. */
export const ROOT_SCOPES = [
  'keyward:keys:read',
  'keyward:keys:write',
  'keyward:usage:read',
  'keyward:audit:read',
  'keyward:webhooks:write',
] as const;

export type RootScope = (typeof ROOT_SCOPES)[number];

/** Every scope. */
export const ALL_SCOPES = 'keyward:*';

/** The root scopes a key's scopes grant (`keyward:*` expanded); empty for a key that is no root key. */
export function rootScopesOf(scopes: Iterable<string>): RootScope[] {
  const held = new Set(scopes);
  if (held.has(ALL_SCOPES)) return [...ROOT_SCOPES];
  return ROOT_SCOPES.filter((s) => held.has(s));
}

/**
 * The root scopes among `scopes` that a caller holding `held` does not: a root key may
 * grant only root scopes it holds itself, and manage only keys whose root scopes it holds
 * (else `keyward:keys:write` could mint, or take over by rotation, a `keyward:*` key).
 */
export function rootScopesNotHeld(scopes: Iterable<string>, held: readonly RootScope[]): RootScope[] {
  const mine = new Set<string>(held);
  return rootScopesOf(scopes).filter((s) => !mine.has(s));
}
