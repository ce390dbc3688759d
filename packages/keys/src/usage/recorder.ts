import { setImmediate as nextTurn } from 'node:timers/promises';
import type { AuthResult } from 'keyward';
import { KeywardConfigError } from 'keyward';
import { parseDuration } from '../domain/input.js';
import type { KeyStore } from '../store/types.js';
import {
  DEPLOYMENT_SCOPE,
  GRANULARITIES,
  KEY_OUTCOME_COUNT,
  keyScope,
  OUTCOME_COUNT,
  ownerScope,
  periodStart,
  USAGE_OUTCOMES,
  type UsageCounts,
  type UsageGranularity,
  type UsageOutcome,
  type UsageScopeKey,
} from './model.js';

const MINUTE = 60_000;
const DAY = 86_400_000;

/** How long each granularity is kept: ms, or duration text (`48h`, `90d`). */
export interface UsageRetention {
  /** Default 48 hours. */
  minute?: number | string;
  /** Default 90 days. */
  hour?: number | string;
  /** Default 400 days. */
  day?: number | string;
}

/** `KeyManager` options for usage analytics. */
export interface UsageAnalyticsOptions {
  /** Count verification outcomes (default true). Off, `observe` does nothing. */
  enabled?: boolean;
  /** How long minutes, hours and days are kept. */
  retention?: UsageRetention;
  /** How often expired periods are deleted, in ms; 0: only on `prune()`. Default 10 minutes. */
  pruneIntervalMs?: number;
  /** Rows deleted per statement (default 5000), with a turn of the event loop between. */
  pruneBatch?: number;
  /**
   * Periods kept in memory while the store cannot be written (default 1,000,000): beyond
   * it, the oldest keys' and owners' periods are dropped (the deployment's never are).
   */
  maxPending?: number;
}

const DEFAULT_RETENTION: Record<UsageGranularity, number> = {
  minute: 48 * 3_600_000,
  hour: 90 * DAY,
  day: 400 * DAY,
};

function retentionMs(value: number | string | undefined, granularity: UsageGranularity): number {
  if (value === undefined) return DEFAULT_RETENTION[granularity];
  const ms = typeof value === 'string' ? parseDuration(value) : value;
  if (!Number.isSafeInteger(ms) || ms < 60_000) {
    throw new KeywardConfigError(`analytics retention of ${granularity}s must be at least 1 minute`);
  }
  return ms;
}

/** One series' counts for one minute: reused from minute to minute, so counting allocates nothing. */
interface Series {
  readonly scope: UsageScopeKey;
  /** Minutes since 1970 the counts are for. */
  minute: number;
  readonly counts: Float64Array;
  dirty: boolean;
  /** Flushes since it last counted anything: idle series are forgotten. */
  idle: number;
}

/** Counts of a minute already left, waiting for the flush. */
interface Spill {
  readonly scope: UsageScopeKey;
  readonly minute: number;
  readonly counts: Float64Array;
}

const INDEX = Object.fromEntries(USAGE_OUTCOMES.map((o, i) => [o, i])) as Record<UsageOutcome, number>;
const { invalid: INVALID, valid: VALID } = INDEX;
/** Failure codes by outcome; `invalid` is split by its reason. */
const BY_CODE: Readonly<Record<string, number>> = {
  missing: INDEX.missing,
  duplicate: INDEX.duplicate,
  insufficient_scope: INDEX.insufficient_scope,
  rate_limited: INDEX.rate_limited,
  usage_exceeded: INDEX.usage_exceeded,
  restricted: INDEX.restricted,
  unavailable: INDEX.unavailable,
};
const BY_REASON: Readonly<Record<string, number>> = {
  expired: INDEX.expired,
  revoked: INDEX.revoked,
  disabled: INDEX.disabled,
};

/** The `id` of a principal, when it has one (a `KeyPrincipal` does). */
function idOf(principal: unknown): string | undefined {
  const id = (principal as { id?: unknown } | null | undefined)?.id;
  return typeof id === 'string' ? id : undefined;
}

/**
 * The owner a principal's key had when it was verified: its `owner` when that is a
 * non-empty string. Read through this one function, so that any principal (a
 * `KeyPrincipal`, or a record with an optional owner) is counted alike.
 */
export function ownerOf(principal: unknown): string | undefined {
  const owner = (principal as { owner?: unknown } | null | undefined)?.owner;
  return typeof owner === 'string' && owner !== '' ? owner : undefined;
}

/** What the recorder has counted and written, for metrics and tests. */
export interface UsageAnalyticsStats {
  /** Outcomes counted since the manager opened. */
  readonly counted: number;
  /** Periods (key, owner or deployment minutes) waiting for the next flush. */
  readonly pending: number;
  /** Periods dropped because the store could not be written for too long. */
  readonly dropped: number;
}

/**
 * Usage analytics: every verification outcome counted in memory (per key, per owner and
 * for the deployment, per minute), added to the store's minute, hour and day rows by the
 * usage flush and on close, and expired rows deleted in the background.
 *
 * Counting costs one or two map reads and increments (the current minute is kept by a
 * timer, not read per request): each series keeps one
 * counts array, reused from minute to minute. A series idle for two flushes is forgotten,
 * so memory follows the keys in use, and keys nobody issued (a guessing flood) are
 * counted only in the deployment's series.
 */
export class UsageAnalytics {
  readonly #store: KeyStore;
  readonly #now: () => number;
  readonly #principalOf: (id: string) => unknown;
  readonly #enabled: boolean;
  readonly #retention: Record<UsageGranularity, number>;
  readonly #pruneBatch: number;
  readonly #pruneMs: number;
  readonly #maxPending: number;
  readonly #keys = new Map<string, Series>();
  readonly #owners = new Map<string, Series>();
  readonly #deployment: Series;
  #spilled: Spill[] = [];
  readonly #pool: Float64Array[] = [];
  #counted = 0;
  #dropped = 0;
  #flushing: Promise<void> = Promise.resolve();
  #timers: NodeJS.Timeout[] = [];
  /** The current minute, kept by a timer at each minute's start when the clock is the real one. */
  #minute = -1;
  #tick: NodeJS.Timeout | undefined;

  /**
   * Counts one authentication result (`createGuard({ observe })`): a principal is `valid`;
   * a refusal counts for its key when the guard names the principal or the failure its
   * key id, and for the deployment always. Bound: pass it around as is.
   */
  readonly observe: (result: AuthResult<unknown>, elapsedMs?: number) => void;

  constructor(
    store: KeyStore,
    now: () => number,
    /** The principal of a key this process verified recently, for refusals that name only its id. */
    principalOf: (id: string) => unknown,
    options: UsageAnalyticsOptions = {},
  ) {
    this.#store = store;
    this.#now = now;
    this.#principalOf = principalOf;
    this.#enabled = options.enabled ?? true;
    this.#retention = {
      minute: retentionMs(options.retention?.minute, 'minute'),
      hour: retentionMs(options.retention?.hour, 'hour'),
      day: retentionMs(options.retention?.day, 'day'),
    };
    this.#pruneBatch = positiveInt(options.pruneBatch, 5000, 'pruneBatch');
    this.#pruneMs = options.pruneIntervalMs ?? 600_000;
    this.#maxPending = positiveInt(options.maxPending, 1_000_000, 'maxPending');
    this.#deployment = this.#series(DEPLOYMENT_SCOPE);
    this.observe = this.#enabled ? (result) => this.#observe(result) : () => {};
  }

  /** Whether outcomes are counted. */
  get enabled(): boolean {
    return this.#enabled;
  }

  /** Retention per granularity, in ms. */
  get retention(): Readonly<Record<UsageGranularity, number>> {
    return { ...this.#retention };
  }

  #series(scope: UsageScopeKey): Series {
    return { scope, minute: 0, counts: new Float64Array(OUTCOME_COUNT), dirty: false, idle: 0 };
  }

  #observe(result: AuthResult<unknown>): void {
    if (result.ok) {
      const principal = result.principal;
      // Optional auth without a key: nobody to count.
      if (principal !== undefined) this.#count(VALID, principal, idOf(principal));
      return;
    }
    const failure = result.failure;
    const principal = (result as { principal?: unknown }).principal;
    if (failure.code === 'invalid') {
      const outcome = failure.reason === undefined ? undefined : BY_REASON[failure.reason];
      const id = failure.keyId;
      if (outcome === undefined || id === undefined) this.#count(INVALID, undefined, undefined);
      else this.#count(outcome, principal ?? this.#principalOf(id), id);
      return;
    }
    const outcome = BY_CODE[failure.code];
    if (outcome === undefined) return;
    // A key refused after it was verified: the guard names its principal.
    const id = principal === undefined ? failure.keyId : idOf(principal);
    this.#count(outcome, principal ?? (id && this.#principalOf(id)), id);
  }

  /**
   * Counts an outcome for the deployment, and for a key (and its owner, read from the
   * principal with `ownerOf`) when the outcome is one a key has.
   */
  record(outcome: UsageOutcome, keyId?: string, owner?: string): void {
    const index = INDEX[outcome];
    if (index === undefined) throw new TypeError(`unknown outcome ${String(outcome)}`);
    if (this.#enabled) this.#count(index, owner === undefined ? undefined : { owner }, keyId);
  }

  #count(outcome: number, principal: unknown, id: string | undefined): void {
    const minute = this.#minute >= 0 ? this.#minute : Math.floor(this.#now() / MINUTE);
    this.#counted++;
    this.#add(this.#deployment, minute, outcome);
    if (id === undefined || outcome >= KEY_OUTCOME_COUNT) return;
    let key = this.#keys.get(id);
    if (key === undefined) {
      key = this.#series(keyScope(id));
      this.#keys.set(id, key);
    }
    this.#add(key, minute, outcome);
    const owner = ownerOf(principal);
    if (owner === undefined) return;
    let series = this.#owners.get(owner);
    if (series === undefined) {
      series = this.#series(ownerScope(owner));
      this.#owners.set(owner, series);
    }
    this.#add(series, minute, outcome);
  }

  #add(series: Series, minute: number, outcome: number): void {
    if (series.minute !== minute) {
      // The minute changed since the last flush: its counts wait apart, in a pooled array.
      if (series.dirty) this.#spill(series.scope, series.minute, series.counts);
      series.minute = minute;
    }
    series.counts[outcome]!++;
    series.dirty = true;
  }

  #spill(scope: UsageScopeKey, minute: number, counts: Float64Array): void {
    const copy = this.#pool.pop() ?? new Float64Array(OUTCOME_COUNT);
    copy.set(counts);
    counts.fill(0);
    this.#spilled.push({ scope, minute, counts: copy });
  }

  /** What was counted and is waiting. */
  stats(): UsageAnalyticsStats {
    let pending = this.#spilled.length;
    for (const s of this.#keys.values()) if (s.dirty) pending++;
    for (const s of this.#owners.values()) if (s.dirty) pending++;
    if (this.#deployment.dirty) pending++;
    return { counted: this.#counted, pending, dropped: this.#dropped };
  }

  /** Adds what was counted to the store; on failure the counts are kept for the next attempt. */
  flush(): Promise<void> {
    const next = this.#flushing.catch(() => {}).then(() => this.#write());
    this.#flushing = next;
    return next;
  }

  async #write(): Promise<void> {
    // Taken synchronously: counts made while the store writes wait for the next flush.
    const taken: Spill[] = this.#spilled;
    this.#spilled = [];
    const take = (map: Map<string, Series> | undefined, series: Series) => {
      if (series.dirty) {
        const copy = this.#pool.pop() ?? new Float64Array(OUTCOME_COUNT);
        copy.set(series.counts);
        series.counts.fill(0);
        series.dirty = false;
        series.idle = 0;
        taken.push({ scope: series.scope, minute: series.minute, counts: copy });
      } else if (map !== undefined && ++series.idle >= 2) {
        map.delete(series.scope.slice(2));
      }
    };
    take(undefined, this.#deployment);
    for (const s of this.#keys.values()) take(this.#keys, s);
    for (const s of this.#owners.values()) take(this.#owners, s);
    if (taken.length === 0) return;
    // Each minute also adds to its hour and its day: rolled up as written, so that several
    // processes adding to the same rows stay exact and nothing needs reconciling later.
    const rows = new Map<
      string,
      { granularity: UsageGranularity; start: number; scope: string; counts: Float64Array }
    >();
    let n = 0;
    for (const spill of taken) {
      for (const granularity of GRANULARITIES) {
        const start = periodStart(spill.minute * MINUTE, granularity);
        const id = `${granularity[0]}${start}${spill.scope}`;
        let row = rows.get(id);
        if (row === undefined) {
          row = { granularity, start, scope: spill.scope, counts: new Float64Array(OUTCOME_COUNT) };
          rows.set(id, row);
        }
        for (let o = 0; o < OUTCOME_COUNT; o++) row.counts[o]! += spill.counts[o]!;
      }
      if (++n % 5000 === 0) await nextTurn();
    }
    // One order for every process: concurrent upserts of the same rows never deadlock.
    const batch: UsageCounts[] = [...rows.values()]
      .sort((a, b) =>
        a.granularity !== b.granularity
          ? GRANULARITIES.indexOf(a.granularity) - GRANULARITIES.indexOf(b.granularity)
          : a.start - b.start || (a.scope < b.scope ? -1 : a.scope > b.scope ? 1 : 0),
      )
      .map((r) => ({
        granularity: r.granularity,
        start: new Date(r.start),
        scope: r.scope,
        counts: r.counts,
      }));
    try {
      const write = this.#store.addUsageCounts;
      if (write === undefined)
        throw new KeywardConfigError(`store ${this.#store.location} keeps no usage analytics`);
      await write.call(this.#store, batch);
    } catch (error) {
      this.#putBack(taken);
      throw error;
    }
    for (const spill of taken) this.#pool.push(spill.counts);
  }

  /** Counts whose write failed wait for the next flush, within `maxPending`. */
  #putBack(taken: Spill[]): void {
    const kept = [...taken, ...this.#spilled];
    let over = kept.length - this.#maxPending;
    this.#spilled = over <= 0 ? kept : kept.filter((s) => s.scope === DEPLOYMENT_SCOPE || over-- <= 0);
    this.#dropped += kept.length - this.#spilled.length;
  }

  /** Deletes periods older than their retention, a batch at a time. Resolves with the rows deleted. */
  async prune(): Promise<number> {
    const prune = this.#store.pruneUsageCounts;
    if (prune === undefined) return 0;
    const now = this.#now();
    let deleted = 0;
    for (const granularity of GRANULARITIES) {
      const before = new Date(periodStart(now - this.#retention[granularity], granularity));
      for (;;) {
        const n = await prune.call(this.#store, granularity, before, this.#pruneBatch);
        deleted += n;
        if (n < this.#pruneBatch) break;
        await nextTurn();
      }
    }
    return deleted;
  }

  /**
   * Reads the real clock once a minute instead of once a request: a timer set for the next
   * minute's start (a request counted in the millisecond or so before it fires still
   * counts in the minute before). A test clock (`now`) is read on every count instead.
   */
  #keepMinute(): void {
    const now = Date.now();
    this.#minute = Math.floor(now / MINUTE);
    this.#tick = setTimeout(() => this.#keepMinute(), (this.#minute + 1) * MINUTE - now + 1);
    this.#tick.unref();
  }

  /** Flushes every `flushMs` and prunes every `pruneIntervalMs`, without keeping the process alive. */
  start(flushMs: number, onError: (error: unknown) => void): void {
    if (!this.#enabled) return;
    if (this.#now === Date.now) this.#keepMinute();
    if (flushMs > 0) this.#timers.push(setInterval(() => this.flush().catch(onError), flushMs));
    if (this.#pruneMs > 0 && this.#store.pruneUsageCounts !== undefined) {
      let pruning = false;
      const run = () => {
        if (pruning) return;
        pruning = true;
        this.prune()
          .catch(onError)
          .finally(() => {
            pruning = false;
          });
      };
      this.#timers.push(setInterval(run, this.#pruneMs));
    }
    for (const t of this.#timers) t.unref();
  }

  stop(): void {
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    clearTimeout(this.#tick);
    this.#minute = -1;
  }
}

function positiveInt(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1)
    throw new KeywardConfigError(`${what} must be a whole number of at least 1`);
  return value;
}
