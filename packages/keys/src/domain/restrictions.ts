import { CompiledRestrictions, KeywardConfigError, type Restrictions } from 'keyward';
import { KeyInputError } from './errors.js';
import { containsKey } from './input.js';

/** The kinds of restriction a key (or an owner) may have, as `KeySettings` names them. */
export const RESTRICTION_KINDS = ['ipAllow', 'originAllow', 'routes'] as const;

export type RestrictionKind = (typeof RESTRICTION_KINDS)[number];

/** One kind as given: a list, or comma-separated text; `null` or `[]` lifts it. */
export type RestrictionInput = readonly string[] | string | null;

function list(value: RestrictionInput, kind: RestrictionKind): readonly string[] {
  if (value === null) return [];
  const items = typeof value === 'string' ? value.split(',') : value;
  if (!Array.isArray(items) || items.some((v) => typeof v !== 'string')) {
    throw new KeyInputError(`${kind} must be a list of strings or comma-separated text`);
  }
  for (const item of items as string[]) {
    // A key pasted into the wrong option must not be stored in plain text.
    if (containsKey(item)) throw new KeyInputError(`${kind} must not contain an API key`);
  }
  return items as string[];
}

/**
 * Validates the restriction kinds given into the canonical patch of those kinds: every
 * entry parsed as requests will use it (a malformed CIDR, origin or route is refused here
 * with a message naming it, never stored), ranges at their network address, duplicates
 * dropped. A kind given empty is `[]` in the patch: it lifts that kind.
 */
export function checkRestrictions(input: Partial<Record<RestrictionKind, RestrictionInput>>): Restrictions {
  const given: { -readonly [K in RestrictionKind]?: readonly string[] } = {};
  for (const kind of RESTRICTION_KINDS) {
    const value = input[kind];
    if (value !== undefined) given[kind] = list(value, kind);
  }
  let compiled: CompiledRestrictions;
  try {
    compiled = new CompiledRestrictions(given);
  } catch (error) {
    if (error instanceof KeywardConfigError) throw new KeyInputError(error.message);
    throw error;
  }
  const canonical = compiled.restrictions;
  const patch: { -readonly [K in RestrictionKind]?: readonly string[] } = {};
  for (const kind of RESTRICTION_KINDS) {
    if (given[kind] !== undefined) patch[kind] = canonical[kind] ?? [];
  }
  return patch;
}

/**
 * A key's restrictions after a patch of some kinds: the kinds the patch names replace
 * the key's (`[]` lifts one), the others stay; `null` lifts all. Answers `null` when no
 * kind restricts anything.
 */
export function mergeRestrictions(
  current: Restrictions | null,
  patch: Restrictions | null,
): Restrictions | null {
  if (patch === null) return null;
  const next: { -readonly [K in RestrictionKind]?: readonly string[] } = {};
  for (const kind of RESTRICTION_KINDS) {
    const value = patch[kind] ?? current?.[kind];
    if (value !== undefined && value.length > 0) next[kind] = value;
  }
  return Object.keys(next).length === 0 ? null : next;
}

/**
 * The same restrictions with their kinds in one order (`null` when none restricts), to
 * compare and audit: PostgreSQL's jsonb hands object keys back in its own order.
 */
export function canonicalRestrictions(restrictions: Restrictions | null | undefined): Restrictions | null {
  return mergeRestrictions(restrictions ?? null, {});
}
