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
