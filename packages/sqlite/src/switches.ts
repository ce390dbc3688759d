import type Database from 'better-sqlite3';
import { BUSY } from './errors.js';

/** What {@link Switches.attempt} answers when another connection holds the write lock. */
export const LOCKED: unique symbol = Symbol('locked');

/**
 * Connection settings switched around single writes, as statements prepared once:
 * `db.pragma()` prepares its statement on every call (3.3 µs here against 0.8 µs), and a
 * use of a key with limited uses switches four times per request.
 */
export class Switches {
  readonly #normal: Database.Statement | undefined;
  readonly #full: Database.Statement | undefined;
  readonly #noWait: Database.Statement;
  readonly #wait: Database.Statement;
  // A switch back that failed (an I/O error, say): put right before the next switch, so
  // the connection never goes on committing NORMAL or without a busy timeout unnoticed.
  #unsure = false;

  /** `full`: the connection is `synchronous=FULL`; `busyMs`: its busy timeout. */
  constructor(db: Database.Database, busyMs: number, full: boolean) {
    // SQLite applies a PRAGMA when it compiles it, not when it first runs it; a run marks
    // it expired, so each later run compiles, and applies, it again. So each pair is
    // prepared in the order that leaves the connection as it was, then run once.
    if (full) {
      this.#normal = db.prepare('PRAGMA synchronous = NORMAL');
      this.#full = db.prepare('PRAGMA synchronous = FULL');
      this.#normal.run();
      this.#full.run();
    }
    // Both answer the new value as a row, so they are read, not run.
    this.#noWait = db.prepare('PRAGMA busy_timeout = 0');
    this.#wait = db.prepare(`PRAGMA busy_timeout = ${Math.trunc(busyMs)}`);
    this.#noWait.get();
    this.#wait.get();
  }

  #settle(): void {
    if (!this.#unsure) return;
    this.#full?.run();
    this.#wait.get();
    this.#unsure = false;
  }

  #back(statement: Database.Statement, read: boolean): void {
    try {
      if (read) statement.get();
      else statement.run();
    } catch (error) {
      this.#unsure = true;
      throw error;
    }
  }

  /** Runs `fn` with `synchronous=NORMAL`; a no-op switch on a connection that is NORMAL already. */
  relaxed<T>(fn: () => T): T {
    this.#settle();
    if (this.#normal === undefined || this.#full === undefined) return fn();
    this.#normal.run();
    try {
      return fn();
    } finally {
      this.#back(this.#full, false);
    }
  }

  /** Runs `fn` with no busy timeout: SQLITE_BUSY at once instead of waiting for the lock. */
  withoutWaiting<T>(fn: () => T): T {
    this.#settle();
    this.#noWait.get();
    try {
      return fn();
    } finally {
      this.#back(this.#wait, true);
    }
  }

  /**
   * Runs `fn` (a statement or transaction that either completes or changes nothing when it
   * finds the lock taken: in WAL mode SQLITE_BUSY comes only at its start) without waiting
   * for the write lock: its result, or {@link LOCKED} when another connection holds it.
   */
  attempt<T>(fn: () => T): T | typeof LOCKED {
    return this.withoutWaiting(() => {
      try {
        return fn();
      } catch (error) {
        if (BUSY.test(String((error as { code?: unknown } | null)?.code ?? ''))) return LOCKED;
        throw error;
      }
    });
  }
}
