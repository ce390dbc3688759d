import type { KeyChange, KeyStore } from './types.js';

/** More changes than this at once (an import) and the caches are simply dropped. */
const BATCH = 1000;

/**
 * Follows the audit log as a change feed, so caches drop what another process changed
 * (the CLI revoking a key while `serve` runs): one cheap indexed query per interval, and
 * at once when the store announces a change (`KeyStore.watch`, e.g. PostgreSQL NOTIFY).
 *
 * While the store is unreachable the cached answers stay, each for at most the cache
 * TTL: no change can be made while it is down, and the feed picks up from its position
 * once it is back, so nothing is missed.
 */
export class ChangeFeed {
  #seq = 0;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #queued: Promise<void> | undefined;
  #unwatch: (() => void) | undefined;
  #failing = false;

  constructor(
    private readonly store: KeyStore,
    private readonly onChange: (change: KeyChange) => void,
    /** Forget everything: too many changes at once. */
    private readonly onReset: () => void,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Starts from the current end of the log; polls in the background unless `intervalMs` is 0. */
  async start(intervalMs: number): Promise<void> {
    this.#seq = (await this.store.changesSince(Number.MAX_SAFE_INTEGER, 1)).latest;
    if (intervalMs <= 0) return;
    this.#timer = setInterval(() => void this.poll(), intervalMs);
    this.#timer.unref();
    this.#unwatch = await this.store.watch?.(() => void this.poll());
  }

  /**
   * One round that starts after this call: a call during a round queues one more (never
   * more than one), so an announcement arriving mid-round is not lost.
   */
  poll(): Promise<void> {
    if (this.#running === undefined) return this.#round();
    this.#queued ??= this.#running.then(() => {
      this.#queued = undefined;
      return this.#round();
    });
    return this.#queued;
  }

  #round(): Promise<void> {
    const round = this.#once().finally(() => {
      if (this.#running === round) this.#running = undefined;
    });
    this.#running = round;
    return round;
  }

  async #once(): Promise<void> {
    try {
      const { changes, latest } = await this.store.changesSince(this.#seq, BATCH);
      if (changes.length >= BATCH) {
        this.onReset();
        this.#seq = Math.max(latest, changes[changes.length - 1]!.seq);
      } else {
        for (const change of changes) this.onChange(change);
        if (changes.length > 0) this.#seq = changes[changes.length - 1]!.seq;
      }
      this.#failing = false;
    } catch (error) {
      if (!this.#failing) this.onError(error);
      this.#failing = true;
    }
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#unwatch?.();
    this.#unwatch = undefined;
  }
}
