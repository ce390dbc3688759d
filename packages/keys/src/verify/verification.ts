import {
  AuthFailure,
  type CompiledRestrictions,
  combineRestrictions,
  compileRestrictions,
  deny,
  type FailureReason,
  type Receipt,
  type RequestRestriction,
  restriction,
  type Spendable,
  spendable,
} from 'keyward';
import { LRUCache } from 'lru-cache';
import type { KeyFormat } from '../domain/format.js';
import { nextRefill, periodStart } from '../domain/owners.js';
import type { KeyHasher } from '../domain/pepper.js';
import type { KeyRecord, KeyStore, OwnerRecord, RateLimit, Refill } from '../store/types.js';
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
  /** The rate limit the owner's keys share (`null` without an owner or limit), also enforced by `rateLimits()`. */
  readonly ownerRateLimit: RateLimit | null;
  /**
   * Where the key may be used, parsed once per cached record (`null`: anywhere), which the
   * guard checks before scopes and rate limits; its JSON is the key's `restrictions` (when
   * only the key, or only its owner, restricts). A key with an owner must pass both its
   * own and its owner's restrictions. Stored restrictions that cannot be parsed refuse
   * every request.
   */
  readonly restrictions: CompiledRestrictions | RequestRestriction | null;
}

export interface KeyCheck {
  readonly outcome: KeyOutcome;
  /** Set when the outcome is `valid`. */
  readonly principal?: KeyPrincipal;
  /** The key's id once it was found (never for `malformed` or `not_found`). */
  readonly keyId?: string;
  /**
   * Set when a `valid` check took its use from a balance: the credits left (the key's own
   * uses, or its owner's shared credits). Absent when nothing limits the key's uses.
   */
  readonly credits?: number;
  /** For `usage_exceeded` of an owner whose credits refill: seconds until the next refill. */
  readonly retryAfter?: number;
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
  /** The owner whose shared credits pay, when the key has none of its own and its owner has. */
  readonly payer: string | null;
  /** That owner's refill, for the period marker and `Retry-After`. */
  readonly refill: Refill | null;
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
  owner: OwnerRecord | undefined,
  cacheKey: string,
  spend: (
    s: Snapshot,
    cost: number,
  ) => AuthFailure | Receipt | undefined | Promise<AuthFailure | Receipt | undefined>,
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
    ownerRateLimit: owner?.rateLimit ? Object.freeze({ ...owner.rateLimit }) : null,
    restrictions: restrictionsOf(record, owner),
  });
  const payer =
    record.remainingUses === null && owner !== undefined && owner.credits !== null ? owner.name : null;
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
    payer,
    refill: payer === null ? null : (owner?.refill ?? null),
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

/**
 * The key's restrictions, and its owner's, compiled once per snapshot (numeric address
 * ranges, a set of origins, route patterns) and combined so a request must pass both.
 * Stored restrictions that no longer parse (edited by hand, or by a newer keyward) fail
 * closed: every request is refused. Owner changes empty the cache, so a snapshot never
 * outlives the owner restrictions it was built with.
 */
function restrictionsOf(
  record: KeyRecord,
  owner: OwnerRecord | undefined,
): CompiledRestrictions | RequestRestriction | null {
  const own = compiled(record.restrictions, record.id);
  const owners = compiled(owner?.restrictions, record.id);
  if (owners === null) return own;
  if (own === null) return owners;
  return combineRestrictions(owners, own) ?? null;
}

function compiled(
  restrictions: KeyRecord['restrictions'] | undefined,
  keyId: string,
): CompiledRestrictions | RequestRestriction | null {
  if (restrictions === null || restrictions === undefined) return null;
  try {
    return compileRestrictions(restrictions, { keyId }) ?? null;
  } catch {
    const refused = new AuthFailure('restricted', undefined, undefined, undefined, keyId);
    return restriction(() => refused);
  }
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
      return refusal.retryAfter === undefined ? USAGE_EXCEEDED : deny('usage_exceeded', refusal.retryAfter);
    case 'expired':
    case 'revoked':
    case 'disabled':
      // A key the store knows is named by its id for observers (security log, metrics);
      // this path is a store read already, so one small object is no cost worth saving.
      return refusal.keyId === undefined
        ? REFUSED[refusal.outcome]
        : new AuthFailure('invalid', undefined, undefined, refusal.outcome, refusal.keyId);
    case 'malformed':
      return REFUSED[refusal.outcome];
    default:
      return REFUSED.unknown;
  }
}

const fail = (outcome: KeyOutcome, s: Snapshot): KeyCheck => Object.freeze({ outcome, keyId: s.id });

// The refill period of each owner's refill settings, computed again only once it is over:
// the calendar arithmetic (Intl) runs once per period, not once per request.
const windows = new WeakMap<Refill, { start: number; next: number }>();

function refillWindow(refill: Refill, now: number): { start: number; next: number } {
  const cached = windows.get(refill);
  if (cached !== undefined && now >= cached.start && now < cached.next) return cached;
  const window = { start: periodStart(refill, now), next: nextRefill(refill, now) };
  windows.set(refill, window);
  return window;
}

/** What paying answers: `undefined` (paid, no balance), the balance left (paid), or the refusal. */
type Paid = KeyCheck | number | undefined;
type Spent = AuthFailure | Receipt | undefined;

/** A check's answer once paid: valid (with the credits left when paid from a balance), or the refusal. */
function checked(s: Snapshot, paid: Paid): KeyCheck {
  if (paid === undefined) return s.valid;
  if (typeof paid === 'number') return { ...s.valid, credits: paid };
  return paid;
}

/**
 * The guard's answer for a payment: a receipt with the balance left (`X-Credits-Remaining`),
 * the failure, or nothing. Only requests paid from a balance allocate one.
 */
function spentOf(paid: Paid): Spent {
  if (paid === undefined) return undefined;
  if (typeof paid === 'number') return { headers: { 'x-credits-remaining': String(paid) } };
  return failureOf(paid);
}

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
  // The cache keys of each key's snapshots: one, or (a key rotated in place, its previous
  // secret still in its grace period) several. Invalidating a key drops them all.
  readonly #byId = new Map<string, string | string[]>();
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
        this.#unlink(s.id, k);
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
    if (!(paid instanceof Promise)) return checked(s, paid);
    return paid.then((p) => checked(s, p));
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
      .then(async (record) => {
        const result = record ? this.#snapshot(record, await this.#ownerOf(record), cacheKey) : ABSENT;
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

  #snapshot(record: KeyRecord, owner: OwnerRecord | undefined, cacheKey: string): Snapshot {
    return snapshotOf(record, owner, cacheKey, (s, cost) => this.#spend(s, cost));
  }

  #remember(s: Snapshot): void {
    this.#known.set(s.cacheKey, s);
    const current = this.#byId.get(s.id);
    if (current === undefined || current === s.cacheKey) this.#byId.set(s.id, s.cacheKey);
    else if (typeof current === 'string') this.#byId.set(s.id, [current, s.cacheKey]);
    else if (!current.includes(s.cacheKey)) current.push(s.cacheKey);
  }

  #unlink(id: string, cacheKey: string): void {
    const current = this.#byId.get(id);
    if (current === cacheKey) this.#byId.delete(id);
    else if (Array.isArray(current)) {
      const rest = current.filter((k) => k !== cacheKey);
      if (rest.length === 0) this.#byId.delete(id);
      else this.#byId.set(id, rest.length === 1 ? rest[0]! : rest);
    }
  }

  /**
   * The second phase, for the guard's `spend`: what a request it let through costs the
   * key, as the failure to answer when it cannot pay.
   */
  #spend(s: Snapshot, cost: number): Spent | Promise<Spent> {
    const paid = this.#pay(s, cost);
    if (paid === undefined) return undefined;
    if (!(paid instanceof Promise)) return spentOf(paid);
    return paid.then(spentOf);
  }

  /**
   * Takes what a request costs the key: nothing when paid from no balance (`undefined`),
   * the balance left when paid from one, else the refusal. The key's own uses (credits), or
   * else its owner's shared credits, are taken in the store, atomically (never below zero,
   * across processes); other keys count in memory, flushed in batches.
   */
  #pay(s: Snapshot, cost: number): Paid | Promise<Paid> {
    // The guard may have waited (a rate limiter's round trip) since the verdict: a snapshot
    // no longer cached was changed or revoked meanwhile, so decide again on a fresh read.
    if (this.#known.peek(s.cacheKey, { allowStale: true }) !== s) return this.#payFresh(s, cost);
    return this.#payOn(s, cost);
  }

  /** Pays on a snapshot known to be current. */
  #payOn(s: Snapshot, cost: number): Paid | Promise<Paid> {
    if (s.exhausted) return fail('usage_exceeded', s);
    const now = this.#d.now();
    if (s.payer !== null) return this.#payOwner(s, s.payer, cost, now);
    if (!s.limited) {
      this.#d.usage.record(s.id, now);
      return undefined;
    }
    return this.#d.store.consumeUse(s.id, new Date(now), cost).then((left) => {
      // No use left after this one, or none at all: the next attempt needs no I/O. A
      // request that costs more than is left is refused without marking the key spent.
      if (left === 0 || (left === null && cost === 1)) s.exhausted = true;
      return left === null ? fail('usage_exceeded', s) : left;
    });
  }

  /** Pays from the owner's shared credits, applying a refill due first (in the store, once per period). */
  #payOwner(s: Snapshot, owner: string, cost: number, now: number): Promise<Paid> {
    const store = this.#d.store;
    const window = s.refill === null ? undefined : refillWindow(s.refill, now);
    const period = window === undefined ? null : new Date(window.start);
    return store.spendCredits!(owner, cost, period).then((left) => {
      if (left === null) {
        if (s.refill === null) return fail('usage_exceeded', s);
        const retryAfter = Math.max(1, Math.ceil((window!.next - now) / 1000));
        return Object.freeze({ outcome: 'usage_exceeded', keyId: s.id, retryAfter }) as KeyCheck;
      }
      this.#d.usage.record(s.id, now);
      return left;
    });
  }

  /** Pays on the key as stored now: refused if it was deleted, revoked, disabled or expired since. */
  async #payFresh(s: Snapshot, cost: number): Promise<Paid> {
    const record = await this.#d.store.get(s.id);
    if (record === undefined) return NOT_FOUND;
    const fresh = this.#snapshot(record, await this.#ownerOf(record), s.cacheKey);
    if (this.#d.now() >= fresh.usableUntil) return fresh.refusal;
    // Current by construction: it was just read (it may not be cached, if a change raced it).
    return this.#payOn(fresh, cost);
  }

  /** The key's owner as stored, when the store keeps owners (a key whose owner is gone has none). */
  #ownerOf(record: KeyRecord): Promise<OwnerRecord | undefined> | undefined {
    if (record.owner === null || this.#d.store.getOwner === undefined) return undefined;
    return this.#d.store.getOwner(record.owner);
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
    // A key rotated in place may be cached under its old and new secret: either names it.
    const cached = this.#byId.get(id);
    const cacheKey = Array.isArray(cached) ? cached[cached.length - 1] : cached;
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
    const cached = this.#byId.get(id);
    if (cached === undefined) return;
    this.#byId.delete(id);
    if (typeof cached === 'string') this.#known.delete(cached);
    else for (const cacheKey of cached) this.#known.delete(cacheKey);
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
