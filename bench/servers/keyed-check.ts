/**
 * The reference check for target 1: the least a server can do and still keep keyward's
 * memory property (no plaintext key and no unkeyed hash of one held in the process). It
 * reads the header, takes a SHA-256 of a secret prefix and the key (`crypto.hash`, as
 * keyward's `KeyHasher.digest`) and looks the digest up in a Map holding as many entries
 * as keyward's default cache (10,000): no guard, no LRU, no expiry, no usage counting.
 * What it costs beside its own public route is the floor under keyward's valid-key ratio.
 */
import { hash, randomBytes } from 'node:crypto';

/** Entries in the map: keyward's default verified-key cache size. */
const ENTRIES = 10_000;

export interface KeyedCheck {
  /** True when the header value is a known key. */
  (value: string | string[] | undefined): boolean;
}

export function keyedCheck(validKey: string): KeyedCheck {
  const secret = randomBytes(32).toString('base64url');
  const digest = (key: string) => hash('sha256', secret + key, 'binary');
  const known = new Map<string, true>([[digest(validKey), true]]);
  while (known.size < ENTRIES) known.set(digest(randomBytes(30).toString('base64url')), true);
  return function check(value) {
    return typeof value === 'string' && value !== '' && known.has(digest(value));
  };
}

/** The 401 bodies, as node-floor sends them. */
export const DENY_MISSING = JSON.stringify({ detail: 'Not authenticated' });
export const DENY_INVALID = JSON.stringify({ detail: 'Invalid API Key' });
