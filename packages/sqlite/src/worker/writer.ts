import { Worker } from 'node:worker_threads';
import type { UsageDelta } from '@keyward/keys/store';
import { StoreUnavailableError } from '@keyward/keys/store';
import type { BatchContext } from './batch.js';
import type { WriterAnswer, WriterReply, WriterRequest } from './writer-worker.js';

interface Waiting {
  resolve(answer: WriterAnswer): void;
  reject(error: unknown): void;
}

/** What a batch of new keys came to: the positions inserted, and the last audit sequence number. */
export interface KeyBatchResult {
  readonly inserted: readonly number[];
  readonly lastSeq: number;
}

/**
 * The store's large writes (usage batches, imported keys), and uses of keys with limited
 * uses taken while another connection holds the write lock, made by a worker thread with
 * its own connection. better-sqlite3 is synchronous: on the store's connection a usage
 * flush of 50,000 keys held every request for about 300 ms, and an import could not
 * prepare its next batch while SQLite wrote the last one. The worker starts with the
 * first write and keeps the process alive only while a write is in flight.
 */
export class SqliteWriter {
  readonly #path: string;
  readonly #busyMs: number;
  #current: Running | undefined;
  #next = 0;

  /** `path`: the database file, absolute (a later chdir must not move it). */
  constructor(path: string, busyMs: number) {
    this.#path = path;
    this.#busyMs = busyMs;
  }

  /** Resolves once the batch is committed; rejects with an Error carrying SQLite's `code`. */
  async usage(batch: readonly UsageDelta[]): Promise<void> {
    const ids: string[] = new Array(batch.length);
    const numbers = new Float64Array(batch.length * 2);
    for (let i = 0; i < batch.length; i++) {
      const u = batch[i]!;
      ids[i] = u.id;
      numbers[2 * i] = u.count;
      numbers[2 * i + 1] = u.lastUsedAt.getTime();
    }
    await this.#send((id) => ({ id, op: 'usage', ids: JSON.stringify(ids), numbers }), [numbers.buffer]);
  }

  /** Adds usage analytics rows (`encodeUsage`) in one transaction. */
  async analytics(scopes: string, numbers: Float64Array): Promise<void> {
    await this.#send((id) => ({ id, op: 'analytics', scopes, numbers }), [numbers.buffer as ArrayBuffer]);
  }

  /**
   * Takes one use of a key (limited uses) at `at` (ms): the uses left, or null when none
   * was. The store sends it here when its own connection found the write lock held: this
   * thread waits for the lock, not the event loop.
   */
  async consume(keyId: string, at: number, cost = 1): Promise<number | null> {
    const reply = await this.#send((id) => ({ id, op: 'consume', keyId, at, cost }));
    return reply.left ?? null;
  }

  /** Spends an owner's credits (`SPEND`), when the store's connection found the write lock held. */
  async spend(owner: string, cost: number, period: number | null): Promise<number | null> {
    const reply = await this.#send((id) => ({ id, op: 'spend', owner, cost, period }));
    return reply.left ?? null;
  }

  /** Inserts keys (`insertValues` arrays) with their audit texts, in one transaction. */
  async keys(
    values: unknown[][],
    changes: readonly string[],
    context: BatchContext,
  ): Promise<KeyBatchResult> {
    const reply = await this.#send((id) => ({ id, op: 'keys', values, changes, context }));
    return { inserted: reply.inserted ?? [], lastSeq: reply.lastSeq ?? 0 };
  }

  /** Lets the writes in flight finish, then closes the worker's connection. */
  async close(): Promise<void> {
    const running = this.#current;
    if (running === undefined) return;
    this.#current = undefined;
    const { worker } = running;
    worker.ref();
    const closed = new Promise<void>((resolve) => {
      worker.on('message', (reply: WriterReply) => {
        if ('closed' in reply) resolve();
      });
      worker.once('exit', () => resolve());
    });
    worker.postMessage({ op: 'close' } satisfies WriterRequest);
    await closed;
    await worker.terminate();
  }

  #send(request: (id: number) => WriterRequest, transfer: ArrayBuffer[] = []): Promise<WriterAnswer> {
    const running = this.#start();
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      running.waiting.set(id, { resolve, reject });
      if (running.waiting.size === 1) running.worker.ref();
      try {
        running.worker.postMessage(request(id), transfer);
      } catch (error) {
        running.settled(id);
        reject(error);
      }
    });
  }

  #start(): Running {
    if (this.#current !== undefined) return this.#current;
    const worker = spawn('writer-worker', { path: this.#path, busyMs: this.#busyMs });
    worker.unref();
    // Each worker answers only its own writes: a crashed one's late 'exit' must not fail
    // the writes of the worker that replaced it.
    const waiting = new Map<number, Waiting>();
    const running: Running = {
      worker,
      waiting,
      settled(id) {
        waiting.delete(id);
        if (waiting.size === 0) worker.unref();
      },
    };
    worker.on('message', (reply: WriterReply) => {
      if ('closed' in reply) return;
      const entry = waiting.get(reply.id);
      if (entry === undefined) return;
      running.settled(reply.id);
      if (reply.error === undefined) entry.resolve(reply);
      else entry.reject(Object.assign(new Error(reply.error.message), { code: reply.error.code }));
    });
    const fail = (cause: unknown) => {
      // Replaced on the next write. Its writes in flight are reported failed, though one
      // may have committed just before it died (then a usage batch counts twice, or a use
      // is spent on a request refused as unavailable: never the other way round).
      if (this.#current === running) this.#current = undefined;
      const reason = cause instanceof Error ? cause.message : String(cause);
      const error = new StoreUnavailableError(
        `the SQLite writer thread for ${this.#path} stopped (${reason})`,
        {
          cause,
        },
      );
      for (const entry of waiting.values()) entry.reject(error);
      waiting.clear();
      worker.unref();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    this.#current = running;
    return running;
  }
}

/** A started worker and the writes it owes answers to. */
interface Running {
  readonly worker: Worker;
  readonly waiting: Map<number, Waiting>;
  /** Forgets an answered write; unrefs the worker once none is left. */
  settled(id: number): void;
}

/**
 * Starts a worker module of this folder. From the TypeScript sources (tests run them), the
 * `.ts` file is loaded through tsx, a dev dependency; the package runs the built `.js`.
 */
function spawn(name: string, workerData: unknown): Worker {
  if (!import.meta.url.endsWith('.ts'))
    return new Worker(new URL(`./${name}.js`, import.meta.url), { workerData });
  // Resolved here: an eval'd worker resolves its imports from the working directory.
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const source = JSON.stringify(new URL(`./${name}.ts`, import.meta.url).href);
  return new Worker(`import(${tsx}).then((tsx) => { tsx.register(); return import(${source}); })`, {
    eval: true,
    workerData,
  });
}
