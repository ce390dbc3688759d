import type { KeyPatch, RateLimit } from '../store/types.js';
import { KeyInputError } from './errors.js';
import { checkLabel, checkMetadata, checkRateLimit, checkScopes, checkUses, durationMs } from './input.js';
import { checkRestrictions, RESTRICTION_KINDS, type RestrictionInput } from './restrictions.js';

/** The settings of a key, as given to `create` (and, all optional, to `update`). */
export interface KeySettings {
  name: string;
  /** The client the key belongs to. */
  owner?: string | null;
  /** A list, or comma-separated text. */
  scopes?: readonly string[] | string;
  metadata?: Record<string, unknown>;
  /** An absolute expiry; `null` for none. */
  expiresAt?: Date | null;
  /** A lifetime from now: milliseconds or text like `30d`. */
  expiresIn?: number | string;
  /** Remaining uses; `null` for unlimited. */
  uses?: number | null;
  /** `{limit, windowSeconds}` or text like `100/1m`; `null` for none. */
  rateLimit?: RateLimit | string | null;
  /**
   * Client addresses allowed: IPv4/IPv6 addresses and CIDR ranges, a list or
   * comma-separated; `null` or `[]` for any (on `update`: lifts the restriction).
   */
  ipAllow?: RestrictionInput;
  /** Browser origins allowed (`https://app.example.com`, `https://*.example.com`); checks `Origin`, else `Referer`. */
  originAllow?: RestrictionInput;
  /** Operations allowed: `METHOD /path` (`GET /reports/*`) or OpenAPI operation ids. */
  routes?: RestrictionInput;
  enabled?: boolean;
}

function expiry(input: Partial<KeySettings>, now: number): Date | null | undefined {
  if (input.expiresAt !== undefined && input.expiresIn !== undefined) {
    throw new KeyInputError('give either expiresAt or expiresIn, not both');
  }
  if (input.expiresIn !== undefined) {
    const ms = durationMs(input.expiresIn, 'expiresIn');
    if (ms === 0) throw new KeyInputError('an expiry must be in the future');
    return new Date(now + ms);
  }
  if (input.expiresAt === undefined || input.expiresAt === null) return input.expiresAt;
  if (!(input.expiresAt instanceof Date) || Number.isNaN(input.expiresAt.getTime())) {
    throw new KeyInputError('expiresAt must be a valid Date');
  }
  return new Date(input.expiresAt);
}

/** Validates settings into a patch; fields not given stay out of it. */
export function settingsPatch(input: Partial<KeySettings>, now: number): KeyPatch {
  if (typeof input !== 'object' || input === null) throw new KeyInputError('key settings must be an object');
  const patch: KeyPatch = {};
  if (input.name !== undefined) patch.name = checkLabel(input.name, 'name');
  if (input.owner !== undefined) patch.owner = input.owner === null ? null : checkLabel(input.owner, 'owner');
  if (input.scopes !== undefined) patch.scopes = checkScopes(input.scopes);
  if (input.metadata !== undefined) patch.metadata = checkMetadata(input.metadata);
  const expiresAt = expiry(input, now);
  if (expiresAt !== undefined) patch.expiresAt = expiresAt;
  if (input.uses !== undefined) patch.remainingUses = checkUses(input.uses);
  if (input.rateLimit !== undefined) {
    patch.rateLimit = input.rateLimit === null ? null : checkRateLimit(input.rateLimit);
  }
  if (RESTRICTION_KINDS.some((kind) => input[kind] !== undefined))
    patch.restrictions = checkRestrictions(input);
  if (input.enabled !== undefined) {
    if (typeof input.enabled !== 'boolean') throw new KeyInputError('enabled must be true or false');
    patch.enabled = input.enabled;
  }
  return patch;
}
