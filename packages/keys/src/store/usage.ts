import { setImmediate as nextTurn } from 'node:timers/promises';
import type { KeyStore, UsageDelta } from './types.js';

/**
 * Keys per store call. Preparing a batch costs the event loop about 1.5 µs a key here
 * (more for a store that writes on this thread), so a flush of many keys goes in slices
 * with a turn of the event loop between them: requests wait for a slice, not a flush.
 */
export const USAGE_SLICE = 5000;

interface Pending {
  count: number;
  last: number;
}

/**
 * Use counts and last-used times, gathered in memory on the hot path (no I/O, no write)
 * and added to the store in one batch by a timer and on close.
 */
export class UsageRecorder {
  #pending = new Map<string, Pending>();
  #flushing: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly store: KeyStore) {}

  record(id: string, now: number): void {
    const entry = this.#pending.get(id);
    if (entry) {
      entry.count++;
      if (now > entry.last) entry.last = now;
    } else {
      this.#pending.set(id, { count: 1, last: now });
    }
  }

  /** Uses recorded and not yet written. */
  get pendingCount(): number {
    let n = 0;
    for (const e of this.#pending.values()) n += e.count;
    return n;
  }

  /** Writes what was recorded; on failure the counts are kept for the next attempt. */
  flush(): Promise<void> {
    // Flushes run one after another so a batch is never written twice or lost; a failed
    // one (its counts put back) must not stop the next.
    const next = this.#flushing.catch(() => {}).then(() => this.#write());
    this.#flushing = next;
    return next;
  }

  async #write(): Promise<void> {
    if (this.#pending.size === 0) return;
    const taken = this.#pending;
    this.#pending = new Map();
    let written = 0;
    let batch: UsageDelta[] = [];
    try {
      for (const [id, e] of taken) {
        batch.push({ id, count: e.count, lastUsedAt: new Date(e.last) });
        if (batch.length < USAGE_SLICE) continue;
        await this.store.recordUsage(batch);
        written += batch.length;
        batch = [];
        await nextTurn();
      }
      if (batch.length > 0) await this.store.recordUsage(batch);
    } catch (error) {
      // Only what was not written goes back: the slices before the failed one are stored.
      let skip = written;
      for (const [id, e] of taken) {
        if (skip-- > 0) continue;
        const now = this.#pending.get(id);
        this.#pending.set(id, now ? { count: now.count + e.count, last: Math.max(now.last, e.last) } : e);
      }
      throw error;
    }
  }

  /** Flushes every `intervalMs` without keeping the process alive. */
  start(intervalMs: number, onError: (error: unknown) => void): void {
    if (intervalMs <= 0) return;
    this.#timer = setInterval(() => this.flush().catch(onError), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
