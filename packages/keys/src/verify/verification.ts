import { AuthFailure, deny, type FailureReason, type Spendable, spendable } from 'keyward';
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
  | 'usage_exceeded';

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
}

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
  /** No use left: set when the store says so, so the next attempt needs no I/O. */
  exhausted: boolean;
  readonly valid: KeyCheck;
  /** What the guard's verifier answers for it: the principal, and how a request pays. */
  readonly verdict: Spendable<KeyPrincipal>;
  /** What it answers once the key is not usable: the 401, with the reason and key id for observers. */
  readonly failure: AuthFailure;
}

const MALFORMED: KeyCheck = Object.freeze({ outcome: 'malformed' });
const NOT_FOUND: KeyCheck = Object.freeze({ outcome: 'not_found' });
const ABSENT = Symbol('absent');

function snapshotOf(
  record: KeyRecord,
  cacheKey: string,
  spend: (s: Snapshot, cost: number) => AuthFailure | undefined | Promise<AuthFailure | undefined>,
): Snapshot {
  // Frozen but for `exhausted`, which the store's answer to a use taken may set.
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
  const snapshot: Snapshot = {
    cacheKey,
    id: record.id,
    usableUntil: blocked ? Number.NEGATIVE_INFINITY : expiresAt,
    refusal: Object.freeze({ outcome: blocked ?? 'expired', keyId: record.id }),
    failure: new AuthFailure('invalid', undefined, undefined, blocked ?? 'expired', record.id),
    scopes: new Set(record.scopes),
    limited: record.remainingUses !== null,
    exhausted: record.remainingUses === 0,
    valid: Object.freeze({ outcome: 'valid', principal, keyId: record.id }),
    // Built once per snapshot: a cache hit answers this same object, allocating nothing.
    verdict: spendable(principal, (cost) => spend(snapshot, cost)),
  };
  for (const field of Object.keys(snapshot)) {
    if (field !== 'exhausted') Object.defineProperty(snapshot, field, { writable: false });
  }
  return Object.seal(snapshot);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

const USAGE_EXCEEDED = deny('usage_exceeded');
// The 401 every unusable key gets, one object per reason: the reason reaches the guard's
// observers (metrics, security logs), never the response.
const REFUSED: Readonly<Record<Exclude<FailureReason, 'address'>, AuthFailure>> = {
  unknown: new AuthFailure('invalid', undefined, undefined, 'unknown'),
  malformed: new AuthFailure('invalid', undefined, undefined, 'malformed'),
  expired: new AuthFailure('invalid', undefined, undefined, 'expired'),
  revoked: new AuthFailure('invalid', undefined, undefined, 'revoked'),
  disabled: new AuthFailure('invalid', undefined, undefined, 'disabled'),
};

/** The guard's answer for a refusal: 429 when no use is left, else the 401 of its reason. */
function failureOf(refusal: KeyCheck): AuthFailure {
  switch (refusal.outcome) {
    case 'usage_exceeded':
      return USAGE_EXCEEDED;
    case 'expired':
    case 'revoked':
    case 'disabled':
    case 'malformed':
      return REFUSED[refusal.outcome];
    default:
      return REFUSED.unknown;
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

/** Counts since the manager opened, for metrics: each verification is one of the first four. */
export interface VerificationStats {
  /** Answered from the cache of verified keys (usable or not). */
  cacheHits: number;
  /** Answered without the store: a malformed key, a remembered unknown one, or the membership filter's no. */
  refusedWithoutLookup: number;
  /** Keys read from the store (cache misses). */
  lookups: number;
  /** Store reads that failed (answered 503). */
  lookupErrors: number;
}

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
 * that was issued here from one that never was (see docs/operations/security.md, Timing).
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
  readonly #stats: VerificationStats = { cacheHits: 0, refusedWithoutLookup: 0, lookups: 0, lookupErrors: 0 };

  /** A copy of the counts so far. */
  stats(): VerificationStats {
    return { ...this.#stats };
  }

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
   * The first phase, for a guard's verifier: the key's verdict (its principal, and how a
   * request pays) when it is usable now, else the 401 with its reason. Scopes, rate limits
   * and paying are the guard's steps, in that order, after this one.
   */
  verdict(
    key: string,
  ): Spendable<KeyPrincipal> | AuthFailure | Promise<Spendable<KeyPrincipal> | AuthFailure> {
    const found = this.#find(key);
    if (!(found instanceof Promise)) return this.#verdictOf(found);
    return found.then((s) => this.#verdictOf(s));
  }

  #verdictOf(s: Snapshot | KeyCheck): Spendable<KeyPrincipal> | AuthFailure {
    if (!('verdict' in s)) return failureOf(s);
    return this.#d.now() < s.usableUntil ? s.verdict : s.failure;
  }

  /**
   * Both phases at once, naming the outcome (`KeyManager.check`): the key, the scopes it
   * must hold, and unless `consume` is false (a dry run) a use taken and usage recorded.
   */
  check(key: string, scopes: readonly string[], consume: boolean): KeyCheck | Promise<KeyCheck> {
    const found = this.#find(key);
    if (!(found instanceof Promise)) return this.#judge(found, scopes, consume);
    return found.then((s) => this.#judge(s, scopes, consume));
  }

  #judge(s: Snapshot | KeyCheck, scopes: readonly string[], consume: boolean): KeyCheck | Promise<KeyCheck> {
    if (!('verdict' in s)) return s;
    if (this.#d.now() >= s.usableUntil) return s.refusal;
    for (const scope of scopes) if (!s.scopes.has(scope)) return fail('insufficient_scope', s);
    if (s.exhausted) return fail('usage_exceeded', s);
    if (!consume) return s.valid;
    const paid = this.#pay(s, 1);
    if (paid === undefined) return s.valid;
    if (!(paid instanceof Promise)) return paid;
    return paid.then((refusal) => refusal ?? s.valid);
  }

  /**
   * The snapshot of a key, from the cache or the store, or the answer for a key that is
   * not one (malformed, unknown). A cached key that can no longer be used (revoked,
   * disabled, expired) is answered through the steps a made-up key takes.
   */
  #find(key: string): Snapshot | KeyCheck | Promise<Snapshot | KeyCheck> {
    // Keyed and cheap: the caches never hold plaintext keys or unkeyed hashes of them.
    const cacheKey = this.#d.hasher.digest(key);
    const hit = this.#known.get(cacheKey);
    // Only well-formed keys are ever cached, so a usable hit needs no format check.
    const stats = this.#stats;
    if (hit !== undefined && this.#d.now() < hit.usableUntil) {
      stats.cacheHits++;
      return hit;
    }
    // Only well-formed keys are remembered as unknown, so a hit needs no format check either:
    // a client repeating a deleted or made-up key is not charged the checksum.
    if (this.#unknown.get(cacheKey)) {
      stats.refusedWithoutLookup++;
      return NOT_FOUND;
    }
    const mayContain = this.#d.store.mayContain;
    // With no filter a made-up key seen before is answered from the negative cache above;
    // an unusable cached key is answered the same way.
    // The snapshot itself, not its refusal: its failure names the key id (usage analytics).
    if (hit !== undefined && mayContain === undefined) {
      stats.cacheHits++;
      return hit;
    }
    const shape = this.#d.format.classify(key);
    if (shape === 'malformed' || (shape === 'foreign' && !this.#d.legacyKeys)) {
      stats.refusedWithoutLookup++;
      return MALFORMED;
    }
    // A made-up key (a guessing flood) is refused here: no HMAC, no query. An unusable
    // cached key asks the filter about a decoy tag, absent as often as a made-up key's.
    if (hit === undefined) {
      if (mayContain?.call(this.#d.store, tagOf(cacheKey)) === false) {
        stats.refusedWithoutLookup++;
        return NOT_FOUND;
      }
    } else if (mayContain!.call(this.#d.store, decoyTagOf(cacheKey)) === false) {
      stats.cacheHits++;
      return hit;
    }
    stats.lookups++;
    return this.#lookup(cacheKey, key).then(
      (s) => (s === ABSENT ? NOT_FOUND : s),
      (error: unknown) => {
        stats.lookupErrors++;
        throw error;
      },
    );
  }

  #lookup(cacheKey: string, key: string): Promise<Snapshot | typeof ABSENT> {
    const pending = this.#inflight.get(cacheKey);
    if (pending) return pending;
    const epoch = this.#epoch;
    const lookup = this.#d.store
      .findByHash(this.#d.hasher.hash(key))
      .then((record) => {
        const result = record ? this.#snapshot(record, cacheKey) : ABSENT;
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

  #snapshot(record: KeyRecord, cacheKey: string): Snapshot {
    return snapshotOf(record, cacheKey, (s, cost) => this.#spend(s, cost));
  }

  #remember(s: Snapshot): void {
    this.#known.set(s.cacheKey, s);
    this.#byId.set(s.id, s.cacheKey);
  }

  /**
   * The second phase, for the guard's `spend`: what a request it let through costs the
   * key, as the failure to answer when it cannot pay.
   */
  #spend(s: Snapshot, cost: number): AuthFailure | undefined | Promise<AuthFailure | undefined> {
    const paid = this.#pay(s, cost);
    if (paid === undefined) return undefined;
    if (!(paid instanceof Promise)) return failureOf(paid);
    return paid.then((refusal) => refusal && failureOf(refusal));
  }

  /**
   * Takes what a request costs the key: nothing when paid, else the refusal. A use of a key
   * with limited uses is taken in the store, atomically (exactly N successes across
   * processes); other keys count in memory, flushed in batches.
   */
  #pay(s: Snapshot, cost: number): KeyCheck | undefined | Promise<KeyCheck | undefined> {
    // The guard may have waited (a rate limiter's round trip) since the verdict: a snapshot
    // no longer cached was changed or revoked meanwhile, so decide again on a fresh read.
    if (this.#known.peek(s.cacheKey, { allowStale: true }) !== s) return this.#payFresh(s, cost);
    return this.#payOn(s, cost);
  }

  /** Pays on a snapshot known to be current. */
  #payOn(s: Snapshot, cost: number): KeyCheck | undefined | Promise<KeyCheck | undefined> {
    if (s.exhausted) return fail('usage_exceeded', s);
    const now = this.#d.now();
    if (!s.limited) {
      this.#d.usage.record(s.id, now);
      return undefined;
    }
    if (cost !== 1) throw new RangeError('a key with limited uses pays one use per request');
    return this.#d.store.consumeUse(s.id, new Date(now)).then((left) => {
      // No use left after this one, or none at all: the next attempt needs no I/O.
      if (left === null || left === 0) s.exhausted = true;
      return left === null ? fail('usage_exceeded', s) : undefined;
    });
  }

  /** Pays on the key as stored now: refused if it was deleted, revoked, disabled or expired since. */
  async #payFresh(s: Snapshot, cost: number): Promise<KeyCheck | undefined> {
    const record = await this.#d.store.get(s.id);
    if (record === undefined) return NOT_FOUND;
    const fresh = this.#snapshot(record, s.cacheKey);
    if (this.#d.now() >= fresh.usableUntil) return fresh.refusal;
    // Current by construction: it was just read (it may not be cached, if a change raced it).
    return this.#payOn(fresh, cost);
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

  /**
   * Sync, no I/O: the principal of a key this process has cached by its id (usable or
   * not), for observers that hear of a refusal by key id only (usage analytics' owners).
   */
  principalOf(id: string): KeyPrincipal | undefined {
    const cacheKey = this.#byId.get(id);
    return cacheKey === undefined
      ? undefined
      : this.#known.peek(cacheKey, { allowStale: true })?.valid.principal;
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
