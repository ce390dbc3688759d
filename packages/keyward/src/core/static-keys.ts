import { sameDigest, sha256 } from '#digest';
import { KeywardConfigError } from './failures.js';
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
    return { digest: sha256(spec.key), principal };
  });
  // Under Node the digests are ready now and a check is sync; with Web Crypto they are
  // promises, and so is every check.
  const digests = entries.map((e) => e.digest);
  const settled = digests.every((d): d is Uint8Array => d instanceof Uint8Array) ? digests : undefined;
  const ready = settled ?? Promise.all(digests);
  const principals = entries.map((e) => e.principal);

  function match(presented: Uint8Array, configured: readonly Uint8Array[]): StaticPrincipal | undefined {
    let found: StaticPrincipal | undefined;
    for (let i = 0; i < configured.length; i++) {
      // No early exit: every entry is compared whatever matched before.
      if (sameDigest(presented, configured[i]!)) found = principals[i];
    }
    return found;
  }

  return function verifyStaticKey(
    key: string,
  ): StaticPrincipal | undefined | Promise<StaticPrincipal | undefined> {
    const presented = sha256(key);
    if (presented instanceof Uint8Array && settled) return match(presented, settled);
    return Promise.all([presented, ready]).then(([p, c]) => match(p, c));
  };
}
