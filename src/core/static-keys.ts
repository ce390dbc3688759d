import { hash, timingSafeEqual } from 'node:crypto';
import { KeywardConfigError } from './errors.js';
import type { Verifier } from './guard.js';

/** One configured key with what the route should see when it is used. */
export interface StaticKey {
  key: string;
  /** Principal id; default `static-<n>` (1-based). */
  id?: string;
  scopes?: readonly string[];
}

/** The principal a static key maps to. */
export interface StaticPrincipal {
  readonly id: string;
  readonly scopes: readonly string[];
}

function digest(key: string): Buffer {
  return hash('sha256', key, 'buffer') as unknown as Buffer;
}

/**
 * A verifier for a fixed set of keys, e.g. `staticKeys(process.env.KEYWARD_API_KEYS)`
 * (comma-separated). Each presented key is hashed to a fixed-length digest and compared
 * with every configured digest in constant time, so neither the key, its length nor
 * which entry matched leaks through timing.
 */
export function staticKeys(
  keys: string | readonly (string | StaticKey)[] | undefined,
): Verifier<StaticPrincipal> {
  const list =
    typeof keys === 'string'
      ? keys
          .split(',')
          .map((k) => k.trim())
          .filter(Boolean)
      : (keys ?? []);
  if (list.length === 0) throw new KeywardConfigError('staticKeys: no keys configured');
  const entries = list.map((entry, i) => {
    const spec = typeof entry === 'string' ? { key: entry } : entry;
    if (typeof spec.key !== 'string' || !/^[\x21-\x2b\x2d-\x7e]{1,256}$/.test(spec.key)) {
      // Never echo the key itself in the message.
      throw new KeywardConfigError(
        `staticKeys: key #${i + 1} must be 1-256 visible ASCII characters without ','`,
      );
    }
    const principal: StaticPrincipal = Object.freeze({
      id: spec.id ?? `static-${i + 1}`,
      scopes: Object.freeze([...(spec.scopes ?? [])]),
    });
    return { digest: digest(spec.key), principal };
  });
  return function verifyStaticKey(key: string): StaticPrincipal | undefined {
    const presented = digest(key);
    let match: StaticPrincipal | undefined;
    for (const entry of entries) {
      // No early exit: every entry is compared whatever matched before.
      if (timingSafeEqual(presented, entry.digest)) match = entry.principal;
    }
    return match;
  };
}
