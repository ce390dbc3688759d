import { Worker } from 'node:worker_threads';
import type { UsageDelta } from '../types.js';
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
 * The store's large writes (usage batches, imported keys), made by a worker thread with
 * its own connection. better-sqlite3 is synchronous: on the store's connection a usage
 * flush of 50,000 keys held every request for about 300 ms, and an import could not
 * prepare its next batch while SQLite wrote the last one. The worker starts with the
 * first write and keeps the process alive only while a write is in flight.
 */
export class SqliteWriter {
  readonly #path: string;
  readonly #busyMs: number;
  #worker: Worker | undefined;
  readonly #waiting = new Map<number, Waiting>();
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
    const worker = this.#worker;
    if (worker === undefined) return;
    this.#worker = undefined;
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
    const worker = this.#start();
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      if (this.#waiting.size === 1) worker.ref();
      worker.postMessage(request(id), transfer);
    });
  }

  #start(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const worker = spawn('writer-worker', { path: this.#path, busyMs: this.#busyMs });
    worker.unref();
    worker.on('message', (reply: WriterReply) => {
      if ('closed' in reply) return;
      const waiting = this.#waiting.get(reply.id);
      if (waiting === undefined) return;
      this.#waiting.delete(reply.id);
      if (this.#waiting.size === 0) worker.unref();
      if (reply.error === undefined) waiting.resolve(reply);
      else waiting.reject(Object.assign(new Error(reply.error.message), { code: reply.error.code }));
    });
    const fail = (error: unknown) => {
      // A crashed worker is replaced on the next write; the writes it held are reported
      // failed (the usage recorder keeps their counts, an import stops with the error).
      if (this.#worker === worker) this.#worker = undefined;
      for (const waiting of this.#waiting.values()) waiting.reject(error);
      this.#waiting.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the SQLite writer worker exited (code ${code})`)));
    this.#worker = worker;
    return worker;
  }
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
