import type { KeyChange, KeyStore } from './types.js';

/** More changes than this at once (an import) and the caches are simply dropped. */
const BATCH = 1000;

/**
 * Follows the audit log as a change feed, so caches drop what another process changed
 * (the CLI revoking a key while `serve` runs): one cheap indexed query per interval.
 */
export class ChangeFeed {
  #seq = 0;
  #timer: NodeJS.Timeout | undefined;
  #polling = false;
  #failing = false;

  constructor(
    private readonly store: KeyStore,
    private readonly onChange: (change: KeyChange) => void,
    /** Forget everything: too many changes, or the feed failed (fail closed). */
    private readonly onReset: () => void,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Starts from the current end of the log. */
  async start(intervalMs: number): Promise<void> {
    this.#seq = (await this.store.changesSince(Number.MAX_SAFE_INTEGER, 1)).latest;
    if (intervalMs <= 0) return;
    this.#timer = setInterval(() => void this.poll(), intervalMs);
    this.#timer.unref();
  }

  /** One round; overlapping rounds are skipped. */
  async poll(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
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
      // Without the feed, cached answers could go stale: drop them so every request asks the store.
      this.onReset();
      if (!this.#failing) this.onError(error);
      this.#failing = true;
    } finally {
      this.#polling = false;
    }
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
