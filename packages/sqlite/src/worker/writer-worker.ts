/**
 * The writer worker's thread (see `SqliteWriter`): its own connection to the store's
 * file for the large writes (usage batches, imported keys), so they never block requests,
 * and for uses taken while another connection holds the write lock.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { SPEND } from '../owners.js';
import { AUDIT_MANY, CONSUME, INSERT_IGNORE, USAGE_UPDATE } from '../statements.js';
import { USAGE_UPSERT, writeUsage } from '../usage.js';
import { type BatchContext, writeKeyBatch } from './batch.js';

export type WriterRequest =
  /** Usage deltas: the key ids as one JSON text, and per key uses to add and last use (ms). */
  | { readonly id: number; readonly op: 'usage'; readonly ids: string; readonly numbers: Float64Array }
  /** New keys as `insertValues` arrays, each with its audit text. */
  | {
      readonly id: number;
      readonly op: 'keys';
      readonly values: unknown[][];
      readonly changes: readonly string[];
      readonly context: BatchContext;
    }
  /** Usage analytics rows (`encodeUsage`): the scopes as one JSON text, tiers, starts and counts as numbers. */
  | { readonly id: number; readonly op: 'analytics'; readonly scopes: string; readonly numbers: Float64Array }
  /** One use of a key with limited uses, taken at `at` (ms). */
  | {
      readonly id: number;
      readonly op: 'consume';
      readonly keyId: string;
      readonly at: number;
      readonly cost: number;
    }
  | {
      readonly id: number;
      readonly op: 'spend';
      readonly owner: string;
      readonly cost: number;
      readonly period: number | null;
    }
  | { readonly op: 'close' };

/** The answer to a write. */
export interface WriterAnswer {
  readonly id: number;
  readonly error?: { readonly code: string; readonly message: string };
  readonly inserted?: readonly number[];
  readonly lastSeq?: number;
  /** Uses left after a `consume`; null when none was left to take. */
  readonly left?: number | null;
}

export type WriterReply = WriterAnswer | { readonly closed: true };

const port = parentPort!;
const { path, busyMs } = workerData as { path: string; busyMs: number };

interface Connection {
  readonly db: Database.Database;
  usage(ids: readonly string[], numbers: Float64Array): void;
  analytics(scopes: readonly string[], numbers: Float64Array): void;
  consume(keyId: string, at: number, cost: number): number | null;
  spend(owner: string, cost: number, period: number | null): number | null;
  keys(
    values: unknown[][],
    changes: readonly string[],
    context: BatchContext,
  ): { inserted: number[]; lastSeq: number };
}
let connection: Connection | undefined;

function open(): Connection {
  const db = new Database(path, { timeout: busyMs, fileMustExist: true });
  // As the store's own bulk writes: no fsync of their own (the store's next FULL commit,
  // or its checkpoint on close, makes them durable), and fewer checkpoints, since a batch
  // rewrites index pages all over the file.
  let update: Database.Statement;
  let upsert: Database.Statement;
  let consume: Database.Statement;
  let spend: Database.Statement;
  let statements: { insertIgnore: Database.Statement; auditMany: Database.Statement };
  let cache: ImportCache;
  try {
    db.pragma('synchronous = NORMAL');
    db.pragma('wal_autocheckpoint = 10000');
    update = db.prepare(USAGE_UPDATE);
    upsert = db.prepare(USAGE_UPSERT);
    consume = db.prepare(CONSUME).pluck();
    spend = db.prepare(SPEND).pluck();
    statements = { insertIgnore: db.prepare(INSERT_IGNORE), auditMany: db.prepare(AUDIT_MANY) };
    cache = importCache(db);
  } catch (error) {
    db.close();
    throw error;
  }
  const usage = db.transaction((ids: readonly string[], numbers: Float64Array) => {
    for (let i = 0; i < ids.length; i++) update.run(numbers[2 * i], numbers[2 * i + 1], ids[i]);
  });
  const analytics = db.transaction((scopes: readonly string[], numbers: Float64Array) =>
    writeUsage(upsert, scopes, numbers),
  );
  const keys = db.transaction((values: unknown[][], changes: readonly string[], context: BatchContext) =>
    writeKeyBatch(statements, values, changes, context),
  );
  return {
    db,
    usage: (ids, numbers) => usage.immediate(ids, numbers),
    analytics: (scopes, numbers) => analytics.immediate(scopes, numbers),
    // all(), not get(): the statement commits when it is reset, where get() hides errors.
    spend: (owner, cost, period) =>
      (spend.all({ name: owner, cost, period })[0] as number | undefined) ?? null,
    consume: (keyId, at, cost) => (consume.all(cost, at, keyId, cost)[0] as number | undefined) ?? null,
    keys: (values, changes, context) => {
      // Structured cloning turns Buffers into plain Uint8Arrays, which SQLite will not bind.
      for (const v of values) {
        const hash = v[0] as Uint8Array;
        v[0] = Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength);
      }
      cache.importing();
      return keys.immediate(values, changes, context);
    },
  };
}

/** The page cache of the worker's connection, sized for what it writes. */
interface ImportCache {
  /** A batch of imported keys is about to be written. */
  importing(): void;
}

/**
 * Imported keys land all over the hash index: with the default 2 MB page cache, each row
 * read its index pages back from the file, and an import of 1,000,000 keys took a fifth
 * longer. The cache grows to the store's own size (64 MiB) while batches arrive, and
 * shrinks back once none has come for a second, so usage writes keep a small one.
 */
function importCache(db: Database.Database): ImportCache {
  const usual = db.pragma('cache_size', { simple: true }) as number;
  let idle: NodeJS.Timeout | undefined;
  return {
    importing() {
      if (idle === undefined) db.pragma('cache_size = -65536');
      else clearTimeout(idle);
      idle = setTimeout(() => {
        idle = undefined;
        try {
          if (db.open) db.pragma(`cache_size = ${usual}`);
        } catch {
          // Thrown in a timer it would end the thread; the cache stays large instead.
        }
      }, 1000).unref();
    },
  };
}

port.on('message', (request: WriterRequest) => {
  if (request.op === 'close') {
    connection?.db.close();
    port.postMessage({ closed: true } satisfies WriterReply);
    port.close();
    return;
  }
  let reply: WriterReply;
  try {
    connection ??= open();
    if (request.op === 'usage') {
      connection.usage(JSON.parse(request.ids) as string[], request.numbers);
      reply = { id: request.id };
    } else if (request.op === 'spend') {
      reply = { id: request.id, left: connection.spend(request.owner, request.cost, request.period) };
    } else if (request.op === 'analytics') {
      connection.analytics(JSON.parse(request.scopes) as string[], request.numbers);
      reply = { id: request.id };
    } else if (request.op === 'consume') {
      reply = { id: request.id, left: connection.consume(request.keyId, request.at, request.cost) };
    } else {
      reply = { id: request.id, ...connection.keys(request.values, request.changes, request.context) };
    }
  } catch (error) {
    // SQLite's messages never hold bound values: no key hash or setting leaks through them.
    const e = error as { code?: unknown; message?: unknown };
    reply = { id: request.id, error: { code: String(e.code ?? ''), message: String(e.message) } };
  }
  port.postMessage(reply);
});
