import { Worker } from 'node:worker_threads';
import type { UsageDelta } from '../types.js';
import type { UsageReply, UsageRequest } from './usage-worker.js';

interface Waiting {
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Writes usage batches from a worker thread with its own connection. better-sqlite3 is
 * synchronous: on the store's connection a flush of 50,000 keys held every request for
 * about 300 ms. The worker starts with the first batch and keeps the process alive only
 * while a batch is being written.
 */
export class UsageWriter {
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
  write(batch: readonly UsageDelta[]): Promise<void> {
    const ids: string[] = new Array(batch.length);
    const numbers = new Float64Array(batch.length * 2);
    for (let i = 0; i < batch.length; i++) {
      const u = batch[i]!;
      ids[i] = u.id;
      numbers[2 * i] = u.count;
      numbers[2 * i + 1] = u.lastUsedAt.getTime();
    }
    const worker = this.#start();
    const id = this.#next++;
    return new Promise<void>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      if (this.#waiting.size === 1) worker.ref();
      const request: UsageRequest = { id, ids: JSON.stringify(ids), numbers };
      worker.postMessage(request, [numbers.buffer]);
    });
  }

  /** Lets the batches in flight finish, then closes the worker's connection. */
  async close(): Promise<void> {
    const worker = this.#worker;
    if (worker === undefined) return;
    this.#worker = undefined;
    worker.ref();
    const closed = new Promise<void>((resolve) => {
      worker.on('message', (reply: UsageReply) => {
        if ('closed' in reply) resolve();
      });
      worker.once('exit', () => resolve());
    });
    worker.postMessage({ close: true } satisfies UsageRequest);
    await closed;
    await worker.terminate();
  }

  #start(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const worker = spawn('usage-worker', { path: this.#path, busyMs: this.#busyMs });
    worker.unref();
    worker.on('message', (reply: UsageReply) => {
      if ('closed' in reply) return;
      const waiting = this.#waiting.get(reply.id);
      if (waiting === undefined) return;
      this.#waiting.delete(reply.id);
      if (this.#waiting.size === 0) worker.unref();
      if (reply.error === undefined) waiting.resolve();
      else waiting.reject(Object.assign(new Error(reply.error.message), { code: reply.error.code }));
    });
    const fail = (error: unknown) => {
      // A crashed worker is replaced on the next batch; the batches it held are reported
      // failed, so the recorder keeps their counts for the next flush.
      if (this.#worker === worker) this.#worker = undefined;
      for (const waiting of this.#waiting.values()) waiting.reject(error);
      this.#waiting.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the usage worker exited (code ${code})`)));
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
