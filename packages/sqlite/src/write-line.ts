import { LOCKED, type Switches } from './switches.js';

const lockError = () => Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });

/**
 * The store's administrative writes (create, update, revoke, rotate, delete), which never
 * wait for the write lock on the event loop. SQLite's busy handler would hold it, and every
 * request with it, for as long as another connection writes (an import in another process,
 * the store's writer thread). A write runs at once when nothing is waiting; when the lock
 * is held elsewhere, it waits in line, tried again after pauses on a timer until the busy
 * timeout has passed. In line, writes commit in the order they were made.
 */
export class WriteLine {
  readonly #switches: Switches;
  readonly #busyMs: number;
  readonly #fail: (error: unknown) => unknown;
  #waiting = 0;
  #tail: Promise<unknown> = Promise.resolve();

  /** `fail` turns a SQLite error (a lock given up on included) into the store's error. */
  constructor(switches: Switches, busyMs: number, fail: (error: unknown) => unknown) {
    this.#switches = switches;
    this.#busyMs = busyMs;
    this.#fail = fail;
  }

  /** True while a write waits for the lock: the store's bulk writes let it go first. */
  get waiting(): boolean {
    return this.#waiting > 0;
  }

  /** Settles once every write in line now has committed or given up. */
  drained(): Promise<unknown> {
    return this.#tail;
  }

  /** Runs a write transaction (it changes nothing when it finds the lock taken). */
  run<T>(write: () => T): Promise<T> {
    const deadline = performance.now() + this.#busyMs;
    if (this.#waiting === 0) {
      let result: T | typeof LOCKED;
      try {
        result = this.#switches.attempt(write);
      } catch (error) {
        return Promise.reject(this.#fail(error));
      }
      if (result !== LOCKED) return Promise.resolve(result);
    }
    this.#waiting++;
    const turn = this.#tail.then(() => this.#retry(write, deadline));
    this.#tail = turn.catch(() => undefined);
    return turn.finally(() => {
      this.#waiting--;
    });
  }

  async #retry<T>(write: () => T, deadline: number): Promise<T> {
    for (let pause = 1; ; pause = Math.min(pause * 2, 25)) {
      let result: T | typeof LOCKED;
      try {
        result = this.#switches.attempt(write);
      } catch (error) {
        throw this.#fail(error);
      }
      if (result !== LOCKED) return result;
      if (performance.now() >= deadline) throw this.#fail(lockError());
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}
