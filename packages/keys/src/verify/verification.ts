import { type AuthFailure, deny } from 'keyward';
import { LRUCache } from 'lru-cache';
import type { KeyFormat } from '../domain/format.js';
import type { KeyHasher } from '../domain/pepper.js';
import type { KeyRecord, KeyStore, RateLimit } from '../store/types.js';
import type { UsageRecorder } from '../store/usage.js';
import { tagOf } from './key-tag.js';

/** Named verification outcomes. Over HTTP all but the last two are the same 401. */
export type KeyOutcome =
  | 'valid'
  | 'not_found'
  | 'malformed'
  | 'expired'
  | 'revoked'
  | 'disabled'
  | 'insufficient_scope'
  | 'usage_exceeded'
  /** Refused by the guard's per-key rate limit (only through `verifier()`; no use taken). */
  | 'rate_limited';

/** What a route sees for a verified key (`c.var.principal` in Hono). Frozen. */
export interface KeyPrincipal {
  readonly id: string;
  readonly name: string;
  readonly owner: string | null;
  readonly scopes: readonly string[];
  readonly metadata: Readonly<Record<string, unknown>>;
  /** The key's own rate limit, which a guard's `limits` (`rateLimits()`) enforce. */
  readonly rateLimit: RateLimit | null;
}

export interface KeyCheck {
  readonly outcome: KeyOutcome;
  /** Set when the outcome is `valid`. */
  readonly principal?: KeyPrincipal;
  /** The key's id once it was found (never for `malformed` or `not_found`). */
  readonly keyId?: string;
  /** The refusal to answer, for `rate_limited`. */
  readonly failure?: AuthFailure;
}

/** The guard's per-key admission step (`VerifyContext.admit`). */
export type AdmitStep = (principal: unknown) => AuthFailure | undefined | Promise<AuthFailure | undefined>;

export interface CacheOptions {
  /** Verified keys kept (default 10,000). */
  max?: number;
  /**
   * How long a verified key's snapshot is trusted without the change feed (default 60 s,
   * 1 ms to 1 hour): the bound on how long a revoke can go unseen if the feed fails.
   */
  ttlMs?: number;
  /** Unknown well-formed keys remembered (default 10,000). */
  negativeMax?: number;
  /** How long an unknown key is remembered (default 60 s, 1 ms to 1 hour). */
  negativeTtlMs?: number;
}

/** A frozen view of a key as it was read, with everything a hit needs. */
interface Snapshot {
  readonly cacheKey: string;
  readonly id: string;
  /** The key's expiry; minus infinity when it is revoked or disabled. */
  readonly usableUntil: number;
  /** The answer once the key is not usable (revoked, disabled or expired). */
  readonly refusal: KeyCheck;
  readonly scopes: ReadonlySet<string>;
  readonly limited: boolean;
  readonly exhausted: boolean;
  readonly valid: KeyCheck;
}

const MALFORMED: KeyCheck = Object.freeze({ outcome: 'malformed' });
const NOT_FOUND: KeyCheck = Object.freeze({ outcome: 'not_found' });
const ABSENT = Symbol('absent');

function snapshotOf(record: KeyRecord, cacheKey: string): Snapshot {
  const principal: KeyPrincipal = Object.freeze({
    id: record.id,
    name: record.name,
    owner: record.owner,
    scopes: Object.freeze([...record.scopes]),
    // Stores hand out fresh copies, so freezing this one in place is enough.
    metadata: deepFreeze(record.metadata),
    rateLimit: record.rateLimit && Object.freeze({ ...record.rateLimit }),
  });
  const blocked = record.revokedAt ? 'revoked' : record.enabled ? undefined : 'disabled';
  const expiresAt = record.expiresAt ? record.expiresAt.getTime() : Number.POSITIVE_INFINITY;
  return Object.freeze({
    cacheKey,
    id: record.id,
    usableUntil: blocked ? Number.NEGATIVE_INFINITY : expiresAt,
    refusal: Object.freeze({ outcome: blocked ?? 'expired', keyId: record.id }),
    scopes: new Set(record.scopes),
    limited: record.remainingUses !== null,
    exhausted: record.remainingUses === 0,
    valid: Object.freeze({ outcome: 'valid', principal, keyId: record.id }),
  });
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

const INSUFFICIENT_SCOPE = deny('insufficient_scope');
const USAGE_EXCEEDED = deny('usage_exceeded');

/** What a guard's verifier returns for a check. */
export function authResultOf(check: KeyCheck): KeyPrincipal | null | AuthFailure {
  switch (check.outcome) {
    case 'valid':
      return check.principal!;
    case 'insufficient_scope':
      return INSUFFICIENT_SCOPE;
    case 'usage_exceeded':
      return USAGE_EXCEEDED;
    case 'rate_limited':
      return check.failure!;
    default:
      // Every other outcome is "not a usable key": the same 401, so nothing leaks which.
      return null;
  }
}

const fail = (outcome: KeyOutcome, s: Snapshot): KeyCheck => Object.freeze({ outcome, keyId: s.id });

/**
 * A second 32-bit value from a key's digest, independent of its tag (`tagOf`, bytes 0-3):
 * for the membership filter, it is as likely to be present as a made-up key's tag.
 */
function decoyTagOf(digest: string): number {
  return (
    (digest.charCodeAt(4) << 24) |
    (digest.charCodeAt(5) << 16) |
    (digest.charCodeAt(6) << 8) |
    digest.charCodeAt(7)
  );
}
const limited = (failure: AuthFailure, s: Snapshot): KeyCheck =>
  Object.freeze({ outcome: 'rate_limited', keyId: s.id, failure });

export interface VerificationDeps {
  store: KeyStore;
  format: KeyFormat;
  hasher: KeyHasher;
  usage: UsageRecorder;
  now: () => number;
  legacyKeys: boolean;
  /** Validated by `KeyManager.open`: every TTL is positive (lru-cache reads 0 as "forever"). */
  cache: Required<CacheOptions>;
}

/**
 * The hot path. A cached key costs one SHA-256 for the cache key, an LRU read and a
 * clock read, and is answered synchronously; malformed keys are refused by their
 * checksum before any lookup; the keyed hash and the store
 * are touched only on a miss or for keys with limited uses. Rate limits are not enforced
 * here but by the guard's `limits`, from the principal's `rateLimit`.
 *
 * A cached key that can no longer be used (revoked, disabled, expired) is refused through
 * the steps a made-up key takes, so that how long the refusal takes does not tell a key
 * that was issued here from one that never was (see docs/security.md, Timing).
 */
export class Verification {
  readonly #d: VerificationDeps;
  readonly #known: LRUCache<string, Snapshot>;
  readonly #unknown: LRUCache<string, true>;
  readonly #byId = new Map<string, string>();
  readonly #inflight = new Map<string, Promise<Snapshot | typeof ABSENT>>();
  // Bumped by every invalidation: a lookup that started before one must not cache its
  // answer, and no request arriving after one may join it (see #forget).
  #epoch = 0;

  constructor(deps: VerificationDeps) {
    this.#d = deps;
    // lru-cache measures the TTL on performance.now(): a wall clock stepped back (NTP, a
    // resumed VM) cannot stretch how long a snapshot is trusted. `ttlResolution: 0` reads
    // that clock on every hit: by default lru-cache caches the reading and arms a 1 ms timer
    // to forget it, which costs a hit more than reading the clock does at low request rates,
    // and made a cached (revoked) key slower to refuse than a made-up one.
    this.#known = new LRUCache<string, Snapshot>({
      max: deps.cache.max,
      ttl: deps.cache.ttlMs,
      ttlResolution: 0,
      dispose: (s, k) => {
        if (this.#byId.get(s.id) === k) this.#byId.delete(s.id);
      },
    });
    this.#unknown = new LRUCache<string, true>({
      max: deps.cache.negativeMax,
      ttl: deps.cache.negativeTtlMs,
      ttlResolution: 0,
    });
  }

  /**
   * Verifies a key; `consume` false is a dry run (no use taken, nothing recorded). `admit`
   * (the guard's rate limit) runs once the key is otherwise usable, before a use is taken
   * or usage recorded: a refused request spends nothing.
   */
  check(
    key: string,
    scopes: readonly string[],
    consume: boolean,
    admit?: AdmitStep,
  ): KeyCheck | Promise<KeyCheck> {
    // Keyed and cheap: the caches never hold plaintext keys or unkeyed hashes of them.
    const cacheKey = this.#d.hasher.digest(key);
    const hit = this.#known.get(cacheKey);
    // Only well-formed keys are ever cached, so a hit needs no format check.
    if (hit !== undefined) {
      const now = this.#d.now();
      if (now < hit.usableUntil) return this.#decide(hit, now, key, scopes, consume, admit);
    }
    // From here on, a `hit` is a key that can no longer be used, and it goes the way a
    // made-up key goes. Only well-formed keys are remembered as unknown, so a hit needs no
    // format check either: a client repeating a deleted or made-up key is not charged the
    // checksum.
    if (this.#unknown.get(cacheKey)) return NOT_FOUND;
    const mayContain = this.#d.store.mayContain;
    // Without a membership filter, a made-up key seen before is answered by the negative
    // cache just above: so is an unusable key seen before.
    if (hit !== undefined && mayContain === undefined) return hit.refusal;
    const shape = this.#d.format.classify(key);
    if (shape === 'malformed' || (shape === 'foreign' && !this.#d.legacyKeys)) return MALFORMED;
    // A made-up key (a guessing flood) is refused here: no HMAC, no query. Not remembered:
    // the filter is as cheap as the negative cache, and an entry could outlive a create.
    // The filter holds an unusable key's own tag and would say "maybe" at once, sooner than
    // it says "no" (which first looks for keys other processes added): it is asked about a
    // decoy tag instead, and spends what it spends on a made-up key.
    if (hit === undefined) {
      if (mayContain?.call(this.#d.store, tagOf(cacheKey)) === false) return NOT_FOUND;
    } else if (mayContain!.call(this.#d.store, decoyTagOf(cacheKey)) === false) return hit.refusal;
    return this.#lookup(cacheKey, key).then((s) =>
      s === ABSENT ? NOT_FOUND : this.#settle(s, key, scopes, consume, admit),
    );
  }

  #lookup(cacheKey: string, key: string): Promise<Snapshot | typeof ABSENT> {
    const pending = this.#inflight.get(cacheKey);
    if (pending) return pending;
    const epoch = this.#epoch;
    const lookup = this.#d.store
      .findByHash(this.#d.hasher.hash(key))
      .then((record) => {
        const result = record ? snapshotOf(record, cacheKey) : ABSENT;
        if (epoch === this.#epoch) {
          if (result === ABSENT) this.#unknown.set(cacheKey, true);
          else this.#remember(result);
        }
        return result;
      })
      .finally(() => {
        // A newer lookup of the same key may have taken this one's place.
        if (this.#inflight.get(cacheKey) === lookup) this.#inflight.delete(cacheKey);
      });
    this.#inflight.set(cacheKey, lookup);
    return lookup;
  }

  #remember(s: Snapshot): void {
    this.#known.set(s.cacheKey, s);
    this.#byId.set(s.id, s.cacheKey);
  }

  /** Decides on a snapshot just read from the store, usable or not. */
  #settle(
    s: Snapshot,
    key: string,
    scopes: readonly string[],
    consume: boolean,
    admit: AdmitStep | undefined,
  ): KeyCheck | Promise<KeyCheck> {
    const now = this.#d.now();
    return now < s.usableUntil ? this.#decide(s, now, key, scopes, consume, admit) : s.refusal;
  }

  /** Decides on a snapshot that is usable at `now` (neither revoked, disabled nor expired). */
  #decide(
    s: Snapshot,
    now: number,
    key: string,
    scopes: readonly string[],
    consume: boolean,
    admit: AdmitStep | undefined,
  ): KeyCheck | Promise<KeyCheck> {
    for (const scope of scopes) if (!s.scopes.has(scope)) return fail('insufficient_scope', s);
    if (s.exhausted) return fail('usage_exceeded', s);
    if (!consume) return s.valid;
    // No rule for this key: undefined, synchronously, so a cache hit stays sync.
    const step = admit?.(s.valid.principal);
    if (step === undefined) return this.#admit(s, now);
    if (step instanceof Promise) {
      return step.then((f) => {
        if (f) return limited(f, s);
        if (this.#known.peek(s.cacheKey) === s) return this.#admit(s, now);
        // The snapshot was dropped while the limiter answered (a Redis round trip): the
        // key changed (revoked, say), or the snapshot never made it into the cache because
        // a change raced its lookup. Decide again on a fresh read, without charging the
        // rate limit a second time.
        return this.#lookup(s.cacheKey, key).then((fresh) =>
          fresh === ABSENT ? NOT_FOUND : this.#settle(fresh, key, scopes, consume, undefined),
        );
      });
    }
    return limited(step, s);
  }

  /**
   * Sync, no I/O: whether this key was verified here recently and is still usable as
   * far as the cache knows. Lets known clients through while their address is blocked.
   */
  knows(key: string): boolean {
    if (this.#d.format.classify(key) === 'malformed') return false;
    const s = this.#known.get(this.#d.hasher.digest(key));
    return s !== undefined && !s.exhausted && this.#d.now() < s.usableUntil;
  }

  #admit(s: Snapshot, now: number): KeyCheck | Promise<KeyCheck> {
    if (!s.limited) {
      this.#d.usage.record(s.id, now);
      return s.valid;
    }
    // Limited uses are taken in the store, atomically: exactly N successes across processes.
    return this.#d.store.consumeUse(s.id, new Date(now)).then((left) => {
      if (left === null || left === 0) this.#exhaust(s);
      return left === null ? fail('usage_exceeded', s) : s.valid;
    });
  }

  /** Remembers that no use is left, so the next attempt is answered without I/O. */
  #exhaust(s: Snapshot): void {
    if (this.#known.get(s.cacheKey) === s) this.#remember(Object.freeze({ ...s, exhausted: true }));
  }

  /**
   * Starts a new epoch. Lookups already in flight may have read the store before the
   * change, so later requests must not share their answer: they start their own.
   */
  #forget(): void {
    this.#epoch++;
    this.#inflight.clear();
  }

  /** Drops what is cached about one key (changed, revoked, deleted). */
  invalidate(id: string): void {
    this.#forget();
    const cacheKey = this.#byId.get(id);
    if (cacheKey !== undefined) this.#known.delete(cacheKey);
  }

  /** Keys were added: unknown keys may exist now. */
  keysAdded(): void {
    this.#forget();
    this.#unknown.clear();
  }

  clear(): void {
    this.#forget();
    this.#known.clear();
    this.#unknown.clear();
  }
}
